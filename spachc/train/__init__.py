"""Training and evaluation: data, augmentation, the SPACH recipe, the loop, checkpoints.

Everything random in a run is derived from (seed, epoch, step, rank, sample position),
never from a stateful generator carried across steps, so a run stopped at any step
boundary and resumed gives the same weights bit for bit on CPU.
"""
