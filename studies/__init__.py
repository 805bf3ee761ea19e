"""Statistical studies: replications of colour, voice and music psychology findings over the
descriptor tables and labels. Arrives after the dual encoder; nothing public yet."""

__all__: list[str] = []
