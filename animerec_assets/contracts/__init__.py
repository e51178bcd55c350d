"""Data contracts shared by the crawler, the replica, the warehouse stages and the app.

Pure constants, no dependencies: every package may import this one, and it imports none of them.
"""
