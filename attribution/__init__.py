"""Attribution: which descriptors drive cross-modal alignment (Integrated Gradients via Captum, SHAP,
regression over :data:`handcrafted.REGISTRY`). Arrives with the dual encoder; nothing public yet."""

__all__: list[str] = []
