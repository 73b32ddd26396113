"""Fails on load, on purpose."""


class TritonPythonModel:
    def initialize(self, args):
        raise RuntimeError("lab model 'broken' refuses to load (on purpose)")

    def execute(self, requests):
        return []
