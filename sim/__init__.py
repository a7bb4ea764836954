"""A seeded, deterministic simulation of a Perdure cluster (TigerBeetle's VOPR, FoundationDB's
simulation testing): `python -m sim --seed 1234`, `make simulate SEEDS=100`.

Theory of operation
-------------------
Everything runs in one process on one asyncio loop whose clock is virtual (sim/loop.py): time
only moves when nothing is ready to run, so a simulated minute costs only the work done in it,
and a run is a function of its seed. Real code where it matters: the cluster has 2-3 nodes
(sim/nodes.py), each running a member of each of 2-3 partition groups (member i of every group
on node i, group g preferring node g % N, as node/membership.py places them); each member is a
real `PartitionProcessor` (node/processor.py) applying the group's log to its own real RocksDB
store with the real state machine, with the real campaign (node/campaign.py) turning Raft
leadership into announcements, step-downs, trim advice and hand-backs, and the leader among
them runs the real leader unit (timers, cleaner, shuffle). Simulated around them
(sim/cluster.py): each group's Raft (sim/raft.py: terms, votes, majorities of the current
voters, a leader cut off from them steps down) and replicated log (sim/log.py), the network
between nodes that faults cut, the shuffles' deliveries through it (sim/network.py), the
invoker and the deployment it drives (sim/invoker.py, sim/deployment.py, sim/services.py: a
counter, a chain of calls across three groups, one-way sends, `run` steps), and the ingress
(sim/workload.py).

A run (sim/world.py): requests arrive for 16 s while the seed's faults strike for 20 s
(sim/faults.py: process, node and whole-cluster crashes and restarts, a node or a link cut off,
a node's members removed from every group and added back from snapshots, leader changes, lost
and unknown appends, replication lag, lost, duplicated, delayed and stale deliveries, broken
invoker links, crashing attempts); then the faults stop and the cluster must become quiet, and
the invariants of sim/checks.py are checked against a shadow replica of every group. Replicas
are compared with the shadow row by row throughout. Every random choice comes from a generator
named after its use and seeded with the seed; the trace digest of two runs of a seed is the
same.

The simulated invoker follows node/invoker.py's rules (it is what the leader unit runs in its
place, through `node.leader.InvokerFactory`). Bugs the simulation finds that are not fixed yet
are listed in `sim.checks.KNOWN`, each with the test that shows it.
"""
