"""cstaserver past one process: protocol front ends and exchange processes linked by the bus
(:mod:`cstaserver.bus`); docs/cluster.md."""
