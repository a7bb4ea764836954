"""`perdure`: the operator's command line (cluster status today; deployments and invocations
later). Standard library only, so it runs wherever Python does, next to or away from a node."""
