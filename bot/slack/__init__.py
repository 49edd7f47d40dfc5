"""Slack's door: the `/papers` command and the digest buttons (`app` wires slack_bolt, `commands` does the work).

Sending digests to Slack is a notifier's job (`bot.notify.slack`) and shaping them into blocks a
renderer's (`bot.render.slack`): the pipeline uses both to deliver, so they stay below it, beside the
other channels and formats.
"""
