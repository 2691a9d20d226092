"""TikTok App Activity audiences as Pulumi resources."""
