"""The pipeline: fetch the sources (`fetch`), compose each profile's digest (`compose`, `periods`), deliver it
(`deliver`, `channels`); `pipeline.Pipeline` is what every door calls, and `clock` ticks it for `bot run`.
"""
