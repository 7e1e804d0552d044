"""Adapters that plug losskit into the trainers people use.

Each submodule imports its framework only when it is used: ``import losskit`` (and
``import losskit.integrations``) import no framework.
"""
