"""A self-hosted bot that sends each subscriber a daily digest of the new papers that match them.

Data flows one way: sources → store → rank → digest → render → notify → store.
"""

__version__ = "0.1.0"
