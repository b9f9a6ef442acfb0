"""Agents and the ACD: who is available, and which waiting contact each free agent gets next.

Agent state lives in the ``agents`` table, every change also an ``agent_events`` row. The
dispatcher pairs the longest-idle available agent with the longest-waiting contact of the
queues they serve — a caller waiting in a queue, or a due callback in its original place in
line — in one atomic claim, so instances sharing a database never hand one contact to two
agents or two contacts to one agent.
"""
