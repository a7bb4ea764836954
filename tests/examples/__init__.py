"""The example programs of examples/, served by a real deployment process against a real node."""
