"""The nemesis: carries out a fault schedule (chaos/schedule.py) on a cluster and records
each fault's start and stop in the history."""
