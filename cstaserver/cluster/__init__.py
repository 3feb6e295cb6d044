"""cstaserver split into front ends and exchange processes over the bus (docs/cluster.md)."""
