"""Receivers for push sources (LINE webhooks) and the durable inbox they write to."""
