"""What the scripted LLM (:class:`dialogue.DialogueLLM`) answers in each port: the replies and
tool calls LiveKit's tests expect from their hosted model. Triggers are pieces of the user's
words (or of the instructions of a ``generate_reply``); see ``dialogue.py``."""

from __future__ import annotations

import json

from dialogue import Round, last_output

from voicegraph.agents.llm import ChatContext
from voicegraph.testing import ScriptedToolCall as Call

__all__ = [
    "ANNOTATED_TOOL_ARGS",
    "BASIC_AGENT",
    "DRIVE_THRU",
    "DRIVE_THRU_JUDGE",
    "EVALS",
    "MULTI_AGENT",
    "RESTAURANT",
]

EVALS: dict[str, list[Round]] = {
    # tests/test_evals.py
    "weather in san francisco": [
        [Call(name="lookup_weather", arguments={"location": "San Francisco"})],
        "It is sunny and 70 degrees in San Francisco.",
    ],
    "speak to echo": [[Call(name="talk_to_echo")], "Transferring you to Echo."],
    "say hello to the user": ["Hello! I am Echo, nice to meet you."],
    "hello how are you": ["I am doing great, thanks for asking!"],
    "start the random generator": [
        [Call(name="start_random_generator")],
        "Your random number is ready.",
    ],
    "call the generate_number tool": [[Call(name="generate_number")], "Done."],
    "give me a random number": [[Call(name="generate_number")], "Here it is."],
}


def _remove_listed(chat: ChatContext) -> list[Call]:
    """Remove the items ``list_order_items`` just listed (one JSON object a line)."""
    ids = [json.loads(line)["order_id"] for line in last_output(chat).splitlines()]
    return [Call(name="remove_order_item", arguments={"order_id": ids})]


def _order(item_id: str, size: str | None = None) -> Call:
    args = {"item_id": item_id} if size is None else {"item_id": item_id, "size": size}
    return Call(name="order_regular_item", arguments=args)


def _combo(meal_id: str, drink_id: str, size: str, sauce_id: str) -> Call:
    return Call(
        name="order_combo_meal",
        arguments={
            "meal_id": meal_id,
            "drink_id": drink_id,
            "drink_size": size,
            "fries_size": size,
            "sauce_id": sauce_id,
        },
    )


DRIVE_THRU: dict[str, list[Round]] = {
    # examples/drive-thru/test_agent.py
    "big mac, no meal": [[_order("big_mac")], "One Big Mac. Anything else?"],
    "don't want it": [[Call(name="list_order_items")], _remove_listed, "Done, I removed it."],
    "mcflurry oreo?": [[_order("sweet_mcflurry_oreo")], "One McFlurry Oreo, coming up."],
    "large combo mccrispy original with mayonnaise": [
        "Sure! Which drink would you like with your McCrispy meal?"
    ],
    "a large coca cola": [
        [_combo("combo_mccrispy_4a", "coca_cola", "L", "mayonnaise")],
        "Your large McCrispy combo with a Coke is in.",
    ],
    "large vanilla shake": [
        [_order("shake_vanilla", "L")],
        "Sorry, something went wrong with that order. Could you try again?",
    ],
    "can i get a large coca cola?": ["Sorry, Coca-Cola is unavailable at the moment."],
    "fanta orange?": ["Sure, what size would you like: small, medium or large?"],
    "a small one": [[_order("fanta_orange", "S")], "One small Fanta Orange, added."],
    "two mayonnaise sauces": [
        [_order("mayonnaise"), _order("mayonnaise")],
        "Two mayonnaise sauces, added.",
    ],
    "keychup sauce and a mcflurry oreo": [
        [_order("ketchup"), _order("sweet_mcflurry_oreo")],
        "A ketchup and a McFlurry Oreo, added.",
    ],
    "mayonnaise": [
        [_combo("combo_big_mac", "coca_cola", "L", "mayonnaise")],
        "Great, your Big Mac Combo is added.",
    ],
    "double hamburger": ["Sorry, we don't have a double hamburger. Would a cheeseburger do?"],
    "redbull": ["Sorry, we don't have redbull."],
}

DRIVE_THRU_JUDGE: dict[str, list[str]] = {
    "should prompt the user to choose a drink": ["which drink"],
    "should inform the user that something went wrong, it's ok to ask them to try again": [
        "went wrong"
    ],
    "should inform the user that the coca cola is unavailable": ["coca-cola", "unavailable"],
    "should ask for the drink size": ["size"],
    "should confirm that the fanta orange was ordered": ["fanta orange", "added"],
    "should confirm that two mayonnaise sauces was ordered": ["two mayonnaise"],
    "should confirm that a ketchup and a McFlurry Oreo was ordered": ["ketchup", "mcflurry oreo"],
    "must confirm a Big Mac Combo meal was added/ordered": ["big mac combo", "added"],
    "should say it isn't something they have, or suggest something similar": ["don't have"],
    "should say they don't have a redbull": ["don't have", "redbull"],
}

RESTAURANT: dict[str, list[Round]] = {
    # examples/voice_agents/restaurant_agent.py (its agents greet with tool_choice="none")
    "friendly restaurant receptionist": [
        "Welcome! Would you like to make a reservation or order takeaway?"
    ],
    "book a table": [[Call(name="to_reservation")], "One moment."],
    "reservation agent at a restaurant": ["Sure! What time would you like the table?"],
    "tomorrow at 7pm": [
        [Call(name="update_reservation_time", arguments={"time": "tomorrow at 7pm"})],
        "Tomorrow at 7pm. May I have your name and phone number?",
    ],
    "my name is alice": [
        [
            Call(name="update_name", arguments={"name": "Alice"}),
            Call(name="update_phone", arguments={"phone": "555 0100"}),
        ],
        "Thank you, Alice. Shall I confirm the reservation?",
    ],
    "please confirm": [[Call(name="confirm_reservation")], "Your table is booked."],
}

MULTI_AGENT: dict[str, list[Round]] = {
    # examples/voice_agents/multi_agent.py
    "gather a few pieces of information": [
        "Hi, I am Echo, a story teller. What is your name, and where are you from?"
    ],
    "i'm alice from paris": [
        [Call(name="information_gathered", arguments={"name": "Alice", "location": "Paris"})],
        "Lovely.",
    ],
    "weaving in elements": ["Once upon a time in Paris, Alice found a tiny door. Shall I go on?"],
    "yes, go on": ["Behind the door was a garden of talking roses. Continue, or end here?"],
    "that's enough": [[Call(name="story_finished")], ""],
    "say goodbye to alice": ["Goodbye, Alice, sweet dreams!"],
}

BASIC_AGENT: dict[str, list[Round]] = {
    # examples/voice_agents/basic_agent.py
    "greet the user and introduce yourself": ["Hi! I am Kelly, built by LiveKit."],
    "weather in tokyo": [
        [
            Call(
                name="lookup_weather",
                arguments={"location": "Tokyo", "latitude": "35.68", "longitude": "139.69"},
            )
        ],
        "It is sunny and 70 degrees in Tokyo.",
    ],
}

ANNOTATED_TOOL_ARGS: dict[str, list[Round]] = {
    # examples/voice_agents/annotated_tool_args.py
    "weather in tokyo": [
        [Call(name="get_weather", arguments={"location": "Tokyo"})],
        "It is sunny in Tokyo today.",
    ],
    "light in the living room": [
        [Call(name="toggle_light", arguments={"room": "living room", "switch_to": "on"})],
        "The living room light is on.",
    ],
    "number seven": [[Call(name="get_number", arguments={"value": 7})], "Your number is 7."],
}
