"""cstaserver: a simulation of the Mitel MX-ONE CSTA Server (Phase III)."""

__version__ = "0.1.0"
