"""Pure core of refsync: canonical model, stage machine, qualification, mapping spec,
named transforms, canonical<->native translation, PHI classes and the error root.

This package does no I/O.
"""
