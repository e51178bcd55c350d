"""Visitors' feedback on their picks: events (pure validation) and the Redis stream they go to."""
