"""The one-line message of a 422 reads as a sentence: fields joined by "; ", one final period (the host pages
show it as it comes, docs/screenshots/hosts-*-refused.png)."""

from plugin.errors import validation_details


def test_field_messages_join_without_doubled_periods():
    message, details = validation_details({"input": {"amount": ["Must be at least 0."],
                                                     "description": ["Length must be between 1 and 500."]}})
    assert message == ("Invalid input: input.amount: Must be at least 0; "
                       "input.description: Length must be between 1 and 500.")
    assert details["fields"]["input.amount"] == ["Must be at least 0."]
