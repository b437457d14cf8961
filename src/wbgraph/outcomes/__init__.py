"""Offers and their outcomes: what relationship managers did with the recommendations (issue #33)."""
