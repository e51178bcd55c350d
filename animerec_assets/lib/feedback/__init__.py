"""Visitors' feedback on their picks: the events, the stream, landing and online metrics."""
