"""A batch sampler that balances modalities and emotions in every batch (pure Python/numpy).

Every batch holds ``batch_size // n_modalities`` items of each modality (the remainder goes to the
first modalities). Within a modality, items are drawn category by category in a random order each
round, so every category present appears equally often; a category that runs out is reshuffled and
drawn again (rare categories are oversampled, none is dropped). The order is a pure function of
``(seed, epoch)``: a resumed run can skip the batches it has already consumed
(``set_epoch(epoch, start=k)``) and see exactly the batches an uninterrupted run would.

With ``num_replicas > 1`` (DDP), replica ``rank`` takes global batches ``rank, rank + R, ...`` of the
same sequence, like :class:`torch.utils.data.DistributedSampler`: every replica gets the same number
of batches, and no two replicas share a batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from resonance.errors import ParameterError


class BalancedBatchSampler:
    """Batches of dataset indices balanced by modality and category.

    Parameters
    ----------
    modalities : sequence of str, length N
        Modality of every item.
    categories : sequence of int, length N
        Category (e.g. the argmax of the soft label) of every item.
    batch_size : int
        Items per batch (per replica).
    seed : int
    num_replicas, rank : int
        Data-parallel world size and this process's rank.
    batches_per_epoch : int, optional
        Global batches per epoch; default: enough for the largest modality to be seen once.
    """

    def __init__(self, modalities: Sequence[str], categories: Sequence[int], batch_size: int, seed: int = 0,
                 num_replicas: int = 1, rank: int = 0, batches_per_epoch: int | None = None) -> None:
        if len(modalities) != len(categories):
            raise ParameterError(f"modalities ({len(modalities)}) and categories ({len(categories)}) differ in length")
        if not 0 <= rank < num_replicas:
            raise ParameterError(f"rank must be in [0, {num_replicas}), got {rank}")
        modalities = np.asarray(modalities, dtype=object)
        categories = np.asarray(categories, dtype=np.int64)
        self.modality_names = sorted(set(modalities.tolist()))
        if not self.modality_names:
            raise ParameterError("the dataset is empty")
        m = len(self.modality_names)
        if batch_size < m:
            raise ParameterError(f"batch_size {batch_size} is smaller than the number of modalities ({m})")
        self.per_modality = [batch_size // m + (1 if i < batch_size % m else 0) for i in range(m)]
        self.pools: list[dict[int, np.ndarray]] = []
        for name in self.modality_names:
            index = np.flatnonzero(modalities == name)
            self.pools.append({int(c): index[categories[index] == c] for c in np.unique(categories[index])})
        if batches_per_epoch is None:
            sizes = [sum(len(v) for v in pool.values()) for pool in self.pools]
            batches_per_epoch = max(-(-n // k) for n, k in zip(sizes, self.per_modality))
        self.global_batches = max(int(batches_per_epoch), num_replicas)
        self.batch_size, self.seed = batch_size, seed
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch's order and skip its first ``start`` (already consumed) batches."""
        if not 0 <= start <= self.num_batches:
            raise ParameterError(f"start must be in [0, {self.num_batches}], got {start}")
        self.epoch, self.start = int(epoch), int(start)

    @property
    def num_batches(self) -> int:
        """Batches of this replica in a full epoch."""
        return self.global_batches // self.num_replicas

    def __len__(self) -> int:
        return self.num_batches - self.start

    def _stream(self, pool: dict[int, np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
        keys = sorted(pool)
        queues = {c: rng.permutation(pool[c]) for c in keys}
        pos = dict.fromkeys(keys, 0)
        out: list[int] = []
        while len(out) < length:
            for c in rng.permutation(keys):
                c = int(c)
                if pos[c] == len(queues[c]):
                    queues[c], pos[c] = rng.permutation(pool[c]), 0
                out.append(int(queues[c][pos[c]]))
                pos[c] += 1
                if len(out) == length:
                    break
        return np.asarray(out, dtype=np.int64)

    def batches(self) -> list[list[int]]:
        """All of this replica's batches of the current epoch (ignoring ``start``)."""
        used = self.num_batches * self.num_replicas
        streams = []
        for i, pool in enumerate(self.pools):
            rng = np.random.default_rng([self.seed, self.epoch, i])
            streams.append(self._stream(pool, used * self.per_modality[i], rng).reshape(used, -1))
        mine = range(self.rank, used, self.num_replicas)
        return [np.concatenate([s[g] for s in streams]).tolist() for g in mine]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches()[self.start:]
