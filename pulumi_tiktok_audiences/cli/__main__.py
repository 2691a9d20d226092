"""``python -m pulumi_tiktok_audiences.cli``: the ``tiktok-audiences`` command."""

from pulumi_tiktok_audiences.cli import main

main()
