"""Visitors' feedback on their picks: events (pure validation), the Redis stream they go to,
their landing in the warehouse and the online metrics."""
