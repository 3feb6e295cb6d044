"""The cluster's data plane (docs/cluster.md): protocol front ends and an exchange process
linked by the bus (``cstaserver.bus``) - forwarded CSTA requests (:mod:`.front`,
:mod:`.exchange`), the events' JSON codec (:mod:`.codec`) and what travels (:mod:`.wire`)."""
