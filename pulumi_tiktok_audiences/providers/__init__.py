"""The providers, one module per resource over a shared lifecycle (``base``).

The classes the engine loads from state are re-exported by ``pulumi_tiktok_audiences.provider``,
whose module path is stored in every stack's state: import them from there.
"""
