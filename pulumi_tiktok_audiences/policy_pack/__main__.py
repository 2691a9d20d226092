"""The audience policy pack: the Pulumi CLI runs this file (``python -m pulumi.policy``) and talks
to the analyzer it serves. The policies live in the package (``pulumi_tiktok_audiences.policies``)
so that they are versioned, typed and tested with the resources they check."""

from pulumi_policy import PolicyPack

from pulumi_tiktok_audiences.policies import PACK_NAME, policies

PolicyPack(PACK_NAME, policies())
