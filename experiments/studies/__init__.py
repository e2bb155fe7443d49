"""Ablation studies: each module names a base config, one config field and its values."""
