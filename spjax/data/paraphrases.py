"""The question router's training set: the grammar's own questions (`text.QUESTIONS`) plus
paraphrases composed here from parts, for the four answer kinds and a fifth, `none`.

Each kind has phrase forms of four sorts: direct questions, indirect clauses (said after a
wrapper such as "can you tell me …" or "I'd like to know …"), imperatives and informal
fragments. A form is a template with slots (`{people}`, `{room}`, `{person}`, `{place}`, …,
filled from `SLOTS`) and inline alternatives (`[a|b|]`, the empty one allowed). A drawn
sentence gets a filler in front now and then ("ok so", "hey,"), an ending ("?", " please",
" right now?", none) and sometimes loses its capitals and punctuation, as typed questions do.

`none` is everything the sensor does not answer: who someone is (name, identity, "who is
this?"), what they look like (age, sex, clothes, face), the room's fixtures (walls, sinks,
lights), and requests from other domains (weather, time, music). Its person-pointing forms
share `{person}{place}` with the activity forms on purpose, so the router learns that "the
person by the sink" is asked about by what follows ("doing" vs "called"), not by the person
reference. Nothing here is read from the held-out test wordings (`tests/data`)."""

from __future__ import annotations

import random
import re

from spjax.data.text import LOCATIONS, QUESTIONS

KINDS = ("count", "anomaly", "activity", "describe", "none")

SLOTS = {
    "people": (
        "people",
        "persons",
        "folks",
        "individuals",
        "occupants",
        "visitors",
        "users",
        "guys",
        "humans",
        "ppl",
        "kids",
        "students",
    ),
    "room": (
        "room",
        "restroom",
        "bathroom",
        "washroom",
        "toilets",
        "changing room",
        "locker room",
        "loo",
        "facility",
        "space",
        "lavatory",
        "gents",
        "ladies room",
        "stall area",
    ),
    "here": (
        "here",
        "in here",
        "there",
        "in there",
        "inside",
        "around",
        "in the {room}",
        "in this {room}",
        "in that {room}",
    ),
    "here_opt": ("", "", " {here}"),
    "in_room": ("", " in the {room}", " {here}"),
    "now": (
        "",
        "",
        "",
        " right now",
        " at the moment",
        " currently",
        " now",
        " at present",
        " just now",
        " rn",
        " at this point",
    ),
    "person": (
        "the person",
        "that person",
        "this person",
        "the guy",
        "that guy",
        "the man",
        "the woman",
        "the lady",
        "the individual",
        "the kid",
        "the child",
        "the boy",
        "the girl",
        "the occupant",
        "the visitor",
        "the user",
        "the student",
        "the one",
        "that one",
        "he",
        "she",
        "someone",
        "the figure",
        "the customer",
    ),
    # Zones the world names (`layout.ZONES`), in the words a user might choose.
    "zone": (
        "sink",
        "sinks",
        "washbasin",
        "basin",
        "taps",
        "door",
        "doorway",
        "entrance",
        "exit",
        "stalls",
        "stall",
        "cubicles",
        "cubicle",
        "bench",
        "benches",
        "seat",
        "middle",
        "middle of the room",
        "centre",
        "center",
        "center of the room",
    ),
    "prep": (
        "by",
        "near",
        "at",
        "next to",
        "beside",
        "close to",
        "in front of",
        "over by",
        "on",
        "in",
        "standing by",
        "sitting on",
    ),
    "place": ("", "", " {prep} the {zone}", " {prep} the {zone}", " {prep} the {zone}"),
    # count
    "see": ("see", "detect", "count", "sense", "make out", "spot", "pick up", "observe"),
    # anomaly
    "wrong": (
        "wrong",
        "unusual",
        "odd",
        "strange",
        "off",
        "weird",
        "suspicious",
        "abnormal",
        "out of the ordinary",
        "amiss",
        "not right",
        "dangerous",
        "alarming",
        "concerning",
        "the matter",
        "funny",
        "bad",
    ),
    "hurt": (
        "hurt",
        "injured",
        "in trouble",
        "in danger",
        "in distress",
        "unwell",
        "in need of help",
        "hurting",
        "sick",
        "unconscious",
        "struggling",
    ),
    "fallen": (
        "fallen",
        "fallen over",
        "fallen down",
        "collapsed",
        "slipped",
        "tripped",
        "passed out",
        "fainted",
        "gone down",
        "hit the floor",
        "keeled over",
    ),
    "fall": ("fall", "fall over", "fall down", "collapse", "slip", "trip", "pass out", "faint"),
    "fight": (
        "fight",
        "fight going on",
        "scuffle",
        "brawl",
        "altercation",
        "struggle",
        "confrontation",
        "assault",
        "scrap",
        "punch up",
    ),
    "bullied": (
        "bullied",
        "pushed",
        "attacked",
        "harassed",
        "hit",
        "assaulted",
        "beaten",
        "shoved",
        "threatened",
        "picked on",
        "intimidated",
        "roughed up",
        "punched",
    ),
    "trouble": (
        "trouble",
        "problems",
        "incidents",
        "emergencies",
        "anomalies",
        "accidents",
        "falls",
        "fights",
        "issues",
        "danger",
        "threats",
        "hazards",
        "signs of distress",
        "bullying",
        "violence",
        "aggression",
        "suspicious behaviour",
        "unusual activity",
        "loitering",
        "crowding",
    ),
    "ok": ("ok", "okay", "alright", "all right", "fine", "normal", "safe", "in order", "good"),
    # describe
    "summary": (
        "summary",
        "description",
        "overview",
        "rundown",
        "run-down",
        "recap",
        "status update",
        "report",
        "account",
        "sitrep",
        "caption",
        "quick update",
    ),
    "scene": ("scene", "room", "situation", "{room}", "picture", "view"),
    # none
    "name": ("john", "maria", "my son", "my boss", "the manager", "alex", "my friend", "tom"),
    "fixture": (
        "walls",
        "floor",
        "tiles",
        "ceiling",
        "door",
        "mirror",
        "sink",
        "bench",
        "stall doors",
        "towels",
    ),
    "thing": (
        "sinks",
        "stalls",
        "doors",
        "mirrors",
        "windows",
        "lights",
        "taps",
        "hooks",
        "benches",
    ),
}

FORMS = {
    "count": {
        "direct": (
            "how many {people} are {here}{now}",
            "how many {people} [do|can] you {see}{here_opt}",
            "how many {people} are [there|present|inside|around]{now}",
            "how many [are|is] {here}{now}",
            "how many {people} {here}{now}",
            "what is the [number|count|total number|total] of {people} {here}",
            "what is the [headcount|head count|occupancy|people count]{in_room}",
            "is [anyone|anybody|someone|somebody] {here}{now}",
            "is there [anyone|anybody|someone|somebody] {here}",
            "are there [any|many|a lot of|lots of] {people} {here}",
            "is the {room} [empty|occupied|vacant|in use|free]{now}",
            "how [full|busy|occupied] is the {room}{now}",
            "how many {people} are [using|in|inside|occupying] the {room}{now}",
            "how many {people} [have you counted|are you tracking|are you seeing|did you find]",
            "is [it|there] [just|only] one person {here}",
            "[about|approximately|roughly|more or less] how many {people} are {here}",
            "are [we|they] alone in the {room}",
            "is [nobody|no one] {here}",
            "how many bodies are {here}",
            "is [anyone|anybody|someone|somebody] [using|in|inside] the {room}{now}",
            "is the {room} [being used|taken|busy]{now}",
            "what is the occupancy [like|looking like|level]{in_room}",
            "how [is|s] [occupancy|the occupancy] [looking|doing]{in_room}",
            "[got|have you got] a [number|count] [on|for] [the {people}|how many are {here}]",
        ),
        "indirect": (
            "how many {people} are {here}",
            "how many {people} there are {here}",
            "how many {people} you [see|can see|detect|count]",
            "the [number|count|total] of {people} {here}",
            "[if|whether] [anyone|anybody|someone] is {here}",
            "[if|whether] the {room} is [empty|occupied|in use|vacant]",
            "the [headcount|occupancy|head count]{in_room}",
            "how [full|busy] the {room} is",
            "how many are {here}",
        ),
        "imperative": (
            "count the {people}{here_opt}",
            "count [everyone|everybody|all the {people}|heads|the bodies]{here_opt}",
            "[give|get] me [a headcount|a head count|the headcount|the {people} count|"
            "a count of the {people}|the number of {people}{here_opt}]",
            "[do|run|take] a [headcount|head count|people count|quick count]",
            "[report|state|say] [the number of {people}{here_opt}|how many {people} are {here}]",
            "tally [up |]the {people}{here_opt}",
            "[check|see|find out] how many {people} are {here}",
            "[count|number] the occupants{in_room}",
            "let me know the occupancy",
        ),
        "fragment": (
            "headcount",
            "head count[ please|]",
            "{people} count",
            "how many",
            "how many {here}",
            "occupancy{in_room}",
            "anyone {here}",
            "anybody {here}",
            "number of {people}{here_opt}",
            "count",
            "{room} empty",
            "how many in the {room}",
        ),
    },
    "anomaly": {
        "direct": (
            "is [anything|something] {wrong}{here_opt}{now}",
            "is there anything {wrong} [going on|happening]{here_opt}",
            "is [anyone|anybody|someone|somebody] {hurt}{here_opt}",
            "[has|have] [anyone|anybody|someone|somebody] {fallen}",
            "did [anyone|anybody|someone|somebody] {fall}",
            "is there a {fight}{here_opt}",
            "is [anyone|anybody|someone|somebody] being {bullied}",
            "is [anyone|anybody|someone|somebody] getting {bullied}",
            "are [people|they|any {people}] [fighting|arguing|brawling]",
            "is [everything|everyone|everybody|it all] {ok}{here_opt}",
            "[does|do] [anyone|anybody|someone] need [help|assistance|a hand|medical attention]",
            "is there [an emergency|a problem|an issue|trouble|a situation|any danger|an "
            "incident]{here_opt}",
            "is [anyone|someone|a person] [lying on the floor|on the ground|down|not moving|"
            "out cold]",
            "is [anyone|someone|somebody] [loitering|lingering|hanging around|hanging about|"
            "lurking]{here_opt}",
            "[has|did] a crowd [formed|form|gathered|gather|built up]",
            "is it [too crowded|overcrowded|crowded|packed]{here_opt}",
            "[are|is] there [any |]{trouble}{here_opt}",
            "should [i|we|security|staff] [be worried|worry|be concerned|step in|intervene]",
            "is it safe{here_opt}",
            "[did|has] anything [bad|unusual|strange|alarming] [happen|happened]",
            "is [anyone|someone] acting [strangely|suspiciously|oddly|aggressively]",
            "is [anyone|someone] [being attacked|under attack|in a fight]",
            "[are|is] [there|anyone] [any reason to worry|cause for concern]",
        ),
        "indirect": (
            "[if|whether] [anything|something] is {wrong}",
            "[if|whether] [anyone|someone] is {hurt}",
            "[if|whether] [anyone|someone] has {fallen}",
            "[if|whether] there is a {fight}",
            "[if|whether] [everything|everyone] is {ok}",
            "[if|whether] [anyone|someone] needs help",
            "[if|whether] there are any {trouble}",
            "[if|whether] [anyone|someone] is being {bullied}",
            "[about|of] any {trouble}",
            "[if|whether] [anyone|someone] is [loitering|hanging around]",
            "[if|whether] a crowd has formed",
        ),
        "imperative": (
            "check [for|on] {trouble}{here_opt}",
            "check [that|whether|if] [everyone|everybody] is {ok}",
            "[look|watch|scan] for [anything {wrong}|{trouble}|signs of {trouble}]",
            "[report|flag] [anything {wrong}|any {trouble}]{here_opt}",
            "alert me [if|when] [someone|anyone] [falls|gets hurt|starts a fight|is in danger]",
            "[warn|tell] me [if|when] [something|anything] [goes wrong|is wrong|happens]",
            "make sure [everyone|everybody] is {ok}",
            "[detect|spot] any {trouble}",
        ),
        "fragment": (
            "any {trouble}{here_opt}",
            "anything {wrong}{here_opt}",
            "{trouble}",
            "[everyone|everybody] {ok}",
            "all [good|clear|ok|okay|quiet]",
            "someone [down|hurt|injured]",
            "[fight|fall|emergency|accident]",
            "anybody {hurt}",
            "trouble {here}",
        ),
    },
    "activity": {
        "direct": (
            "what is {person}{place} doing{now}",
            "what is {person}{place} up to{now}",
            "what is {person}{place} busy with",
            "what is {person}{place} doing [there|over there|in there]",
            "what [activity|action] is {person}{place} [doing|performing|engaged in|busy with]",
            "what is {person}{place} [currently|now] doing",
            "what is going on with {person}{place}",
            "what does {person}{place} [seem to be doing|appear to be doing]",
            "is {person}{place} [walking|sitting|waiting|washing up] or [standing|leaving|"
            "entering|sitting]",
            "what [kind of thing|sort of thing] is {person}{place} doing",
            "what is {person}{place} [occupied with|getting up to]",
            "how is {person}{place} spending [the|their] time",
        ),
        "indirect": (
            "what {person}{place} is doing{now}",
            "what {person}{place} is up to",
            "what {person}{place} is busy with",
            "what [activity|action] {person}{place} is [doing|engaged in]",
            "what {person}{place} is doing there",
        ),
        "imperative": (
            "[describe|tell me|say|report|explain] what {person}{place} is doing",
            "[name|give me|tell me|report] the activity of {person}{place}",
            "[identify|classify|recognise|recognize] [the activity of {person}{place}|"
            "what {person}{place} is doing]",
            "tell me [about |]what {person}{place} is up to",
            "[describe|report] {person}{place}'s activity",
        ),
        "fragment": (
            "{person}{place} doing what",
            "what about {person}{place}",
            "activity of {person}{place}",
            "what [is|s] {person}{place} doing",
            "and {person}{place}",
        ),
    },
    "describe": {
        "direct": (
            "what is [happening|going on|taking place|occurring]{here_opt}{now}",
            "what do you [see|observe|notice|detect|perceive]{here_opt}",
            "what can you [see|tell me|observe]{here_opt}",
            "what is the [situation|scene|status|state of things|picture]{here_opt}",
            "what does the [scene|{room}] look like{now}",
            "what is [up|new|the story]{here_opt}",
            "what are [the {people}|people|everyone|they all] doing{here_opt}",
            "what [went on|happened]{here_opt}",
            "how does the {room} look",
            "how are things{here_opt}",
            "can you describe [the scene|the {room}|what you see|what is happening]",
            "what is [the scene|it] like{here_opt}",
            "how [is|s] it looking{here_opt}",
            "how are things looking{here_opt}",
            "how [is|s] [the {room}|everything|it going]{here_opt}",
        ),
        "indirect": (
            "what is [happening|going on]{here_opt}",
            "what you [see|observe]{here_opt}",
            "what the [scene|{room}] looks like",
            "what the {people} are doing",
            "how things are{here_opt}",
            "what is taking place{here_opt}",
        ),
        "imperative": (
            "describe [the scene|the {room}|what you see|what is happening|what is going on|"
            "the situation|everything]{here_opt}",
            "[give|get] me [a|an] {summary}[ of the {scene}| of what is happening|]",
            "[summarize|summarise|sum up|caption|narrate|recap|outline] [the scene|the {room}|"
            "what is happening|the situation|everything]",
            "tell me [about the {room}|about the scene|what you see|what is happening|"
            "what is going on|everything]",
            "[paint|draw] [me |]a picture of the [scene|{room}|situation]",
            "walk me through [the scene|what is happening|the {room}]",
            "report what you [see|observe]",
            "give me the [full |]picture",
        ),
        "fragment": (
            "{summary}[ please|]",
            "scene description",
            "describe",
            "status",
            "status report",
            "what is up",
            "overview of the {room}",
            "what is the scene",
        ),
    },
    "none": {
        "direct": (
            # identity
            "who is {person}{place}",
            "who is {here}{now}",
            "who [just |][came in|walked in|entered|left|went out]",
            "who [are|were] [they|these people|those people|the {people}]",
            "what is {person}{place} called",
            "what name does {person}{place} go by",
            "is {person}{place} {name}",
            "is that {name}",
            "is {name} {here}",
            "[do|can] you [know|recognise|recognize] {person}{place}",
            "which [employee|student|staff member|customer|patient|colleague|worker] is "
            "{person}{place}",
            "which of [our|the] [employees|staff|students|customers|workers] [is|are] {here}",
            "whose [bag|phone|coat|jacket|keys] [is|are] [this|that|these]",
            "where did {person}{place} [come from|go|arrive from]",
            "has {person}{place} been here before",
            # appearance
            "what is {person}{place} wearing",
            "what colour [shirt|hair|jacket|coat|shoes] does {person}{place} have",
            "what does {person}{place} look like",
            "how [tall|heavy|big|short|young] is {person}{place}",
            "what age is {person}{place}",
            "is {person}{place} [a man or a woman|male or female|a boy or a girl|a child or "
            "an adult|young or old]",
            "what [gender|race|ethnicity|nationality|sex] is {person}{place}",
            "does {person}{place} have [glasses|a beard|tattoos|long hair|a hat]",
            "what is {person}{place} carrying",
            "is {person}{place} [pretty|attractive|handsome|beautiful|ugly|fat|thin|old|young|"
            "rich|famous|married]",
            "what [skin colour|hair colour|eye colour|religion|body type] [is|does] "
            "{person}{place} [have|]",
            "[what|which] [race|ethnicity|nationality|gender|age group] [is|does] "
            "{person}{place} [belong to|]",
            "how much does {person}{place} weigh",
            "where [does|did] {person}{place} [live|work|study]",
            "what [job|phone number|address] does {person}{place} have",
            "what does [her|his|their] face look like",
            # the room itself
            "what colo[u|]r [is|are] the {fixture}",
            "how [big|large|clean|dirty|warm|cold|bright|dark|old] is the {room}",
            "what is the temperature{here_opt}",
            "are the lights [on|off|working]",
            "is the [tap|water|fan|hand dryer|soap dispenser] [on|running|working|broken|empty]",
            "how many {thing} are there{here_opt}",
            "how many {thing} does the {room} have",
            "when was the {room} [last cleaned|built|renovated|painted]",
            "is there [toilet paper|soap|a mirror|a window|a hand dryer] {here}",
            "is the floor [wet|slippery|clean]",
            # other domains
            "will it rain [today|tomorrow|later]",
            "is it [sunny|cold|raining|snowing] outside",
            "what is the [forecast|weather forecast] [for today|for tomorrow|for the weekend]",
            "what [day|date|year] is it[ today|]",
            "what is the capital of [france|germany|italy|japan|peru]",
            "who won the [game|match|election|cup]",
            "what is your name",
            "how are you[ doing|]",
            "who [made|built|programmed] you",
            "what is [two|2|five] [plus|times] [two|2|three]",
            "when does the [store|building|office|gym] [open|close]",
            "what is the [wifi|wi-fi|door] [password|code]",
            "how much does [this|the camera|it|the system] cost",
            "what is the meaning of life",
            "how do i [get to|find] the [station|car park|parking lot|library]",
            "how [far|long] is it to [london|the airport|the station]",
            "what is the stock market doing",
            "[are|is] [you|the camera|this thing] [filming|recording|watching] me",
            "can you hear me",
            "what should i have for [lunch|dinner]",
            "is the [shop|cafe|canteen] open",
        ),
        "indirect": (
            "who {person}{place} is",
            "who is {here}",
            "the name of {person}{place}",
            "what {person}{place} is wearing",
            "how old {person}{place} is",
            "[if|whether] {person}{place} is {name}",
            "what {person}{place} looks like",
            "[if|whether] it will rain [today|tomorrow]",
            "what the weather [will be|is going to be] [today|tomorrow]",
            "what colo[u|]r the {fixture} [is|are]",
            "how many {thing} there are",
            "the [wifi|door] [password|code]",
            "[if|whether] {person}{place} is [a man or a woman|male or female]",
        ),
        "imperative": (
            "[identify|recognise|recognize|name] {person}{place}",
            "[identify|recognise|name|list] [everybody|the {people}|all the {people}]{here_opt}",
            "[show me|describe|zoom in on|take a photo of] the face of {person}{place}",
            "[show me|send me|take|capture|save] a [photo|image|video|snapshot|screenshot] of "
            "[the {room}|{person}{place}|the scene]",
            "[tell me|give me|look up] the name of {person}{place}",
            "[describe|tell me] [the clothes|the outfit|the hair colour] of {person}{place}",
            "[tell me|recite] a [story|poem|riddle|fun fact]",
            "sing [a song|happy birthday]",
            "[play|put on] [some music|the radio|a song|a podcast]",
            "[switch|turn] [on|off] the [fan|heating|music|radio|tv|air conditioning]",
            "[open|close|lock|unlock] the [door|window|stall]",
            "set [a timer|an alarm|a reminder] for [ten minutes|seven|noon]",
            "translate [hello|thank you|good morning] into [french|spanish|german]",
            "order [a pizza|a taxi|lunch|coffee]",
            "[send|write] an email to [my boss|the manager|facilities]",
            "call [my mum|a taxi|my office]",
            "recommend a [restaurant|movie|book]",
            "[track|follow] {person}{place} [home|to their car|around the building]",
            "[record|film] {person}{place}",
        ),
        "fragment": (
            "who [is that|s that|is it|are you]",
            "name of {person}{place}",
            "{person}{place} name",
            "weather[ today|]",
            "[age|gender|height] of {person}{place}",
            "hello",
            "thanks",
            "[good morning|good night|bye]",
            "[wifi|door] password",
        ),
    },
}

PREFIXES = (
    "hey, ",
    "hi, ",
    "ok, ",
    "okay so ",
    "so ",
    "um ",
    "uh, ",
    "quick question: ",
    "sensor, ",
    "excuse me, ",
    "hello, ",
    "and ",
    "now, ",
    "well, ",
    "right, ",
    "question: ",
    "yo ",
    "one more thing: ",
)
WRAPPERS = (  # before an indirect clause
    "can you tell me {}",
    "could you tell me {}",
    "tell me {}",
    "please tell me {}",
    "i want to know {}",
    "i'd like to know {}",
    "i need to know {}",
    "let me know {}",
    "do you know {}",
    "i wonder {}",
    "i was wondering {}",
    "can you check {}",
    "check {}",
    "find out {}",
    "any idea {}",
    "could you let me know {}",
    "i'm curious {}",
    "would you tell me {}",
    "can you say {}",
    "i'm asking {}",
)
COURTESY = ("can you ", "could you ", "please ", "would you ", "can u ", "kindly ", "")
ENDINGS = ("?", "?", "?", ".", "", "", "!", " please?", " please", " pls", " for me?", " thanks.")
IMPERATIVE_ENDINGS = (".", "", "", "!", " please.", " please", " for me.", " now.", " thanks.")

_SLOT = re.compile(r"\{(\w+)\}")
_ALT = re.compile(r"\[([^\[\]]*)\]")


def fill(template: str, rng: random.Random) -> str:
    """One sentence of `template`: alternatives `[a|b|]` chosen, slots `{name}` filled from
    `SLOTS` (slot values may hold slots and alternatives themselves)."""
    for _ in range(8):
        new = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), template)
        new = _SLOT.sub(lambda m: rng.choice(SLOTS[m.group(1)]), new)
        if new == template:
            break
        template = new
    return " ".join(template.split())


def _form(kind: str, rng: random.Random) -> str:
    forms = FORMS[kind]
    sort = rng.choice(("direct", "direct", "indirect", "imperative", "fragment"))
    body = fill(rng.choice(forms[sort]), rng)
    if sort == "indirect":
        return rng.choice(WRAPPERS).format(body) + rng.choice(ENDINGS)
    if sort == "imperative":
        return rng.choice(COURTESY) + body + rng.choice(IMPERATIVE_ENDINGS)
    return body + rng.choice(ENDINGS)


def _surface(text: str, rng: random.Random) -> str:
    """Typed-question variation: a filler in front, capitals or not."""
    if rng.random() < 0.3:
        text = rng.choice(PREFIXES) + text
    if rng.random() < 0.6:
        text = text[:1].upper() + text[1:]
    return text


def grammar_questions() -> list[tuple[str, str]]:
    """Every question the grammar asks, with its answer kind (activity's `{loc}` expanded)."""
    out = []
    for qtype, table in QUESTIONS.items():
        kind = "activity" if qtype == "activity_one" else qtype
        for q in table:
            if "{loc}" in q:
                out += [(q.format(loc=p), kind) for ps in LOCATIONS.values() for p in ps]
            else:
                out.append((q, kind))
    return out


def training_questions(per_kind: int = 700, seed: int = 0) -> list[tuple[str, str]]:
    """(question, kind) pairs: the grammar's questions, then up to `per_kind` distinct
    composed paraphrases per kind (`KINDS`; twice as many for `none`, whose forms are the
    most varied), drawn deterministically from `seed`."""
    rng = random.Random(f"spjax-router-{seed}")
    out = list(grammar_questions())
    seen = {q.lower() for q, _ in out}
    for kind in KINDS:
        got, want = 0, per_kind * (2 if kind == "none" else 1)
        for _ in range(want * 20):
            q = _surface(_form(kind, rng), rng)
            if q.lower() in seen:
                continue
            seen.add(q.lower())
            out.append((q, kind))
            got += 1
            if got == want:
                break
    return out
