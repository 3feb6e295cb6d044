"""The web API of the running server: JSON resources for applications and operators
(docs/api.md), built over the core and the switch and mounted by the composition layer."""
