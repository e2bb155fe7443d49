"""Multimodal data: videos with time-aligned text and queries (``synthetic``)."""
