"""Words for the demo: learners, EHCP outcomes by PfA area, and the targets that
serve them. Written as a college would write them: to and about the learner."""

LEARNERS = [
    # name, preferred name, date of birth, lead provider
    ("Amir Hussain", "Amir", "2007-04-12", "northfield"),
    ("Bethany Clarke", "Beth", "2006-11-03", "northfield"),
    ("Callum O'Neill", "Callum", "2008-01-22", "northfield"),
    ("Danielle Okafor", "Dani", "2005-06-30", "northfield"),
    ("Ellis Wright", "Ellis", "2007-09-14", "northfield"),
    ("Fatima Begum", "Fatima", "2006-02-08", "northfield"),
    ("George Kowalski", "George", "2004-12-19", "northfield"),
    ("Hannah Lewis", "Hannah", "2008-05-05", "riverside"),
    ("Isaac Mensah", "Isaac", "2006-08-27", "riverside"),
    ("Jade Thompson", "Jade", "2005-03-16", "riverside"),
    ("Kieran Walsh", "Kieran", "2007-07-09", "riverside"),
    ("Leila Ahmed", "Leila", "2006-10-21", "riverside"),
    ("Mason Price", "Mason", "2003-01-30", "riverside"),
    ("Nia Roberts", "Nia", "2007-12-02", "riverside"),
    ("Oliver Bennett", "Ollie", "2006-04-25", "northfield"),
    ("Priya Patel", "Priya", "2005-09-11", "riverside"),
]

# Each outcome: (Section E wording with {name}, [(target, success criteria), ...])
OUTCOMES = {
    "employment": [
        (
            "By the end of the programme, {name} will complete a supported work placement "
            "two days a week, following a visual schedule with only occasional prompts.",
            [
                ("Arrive at placement on time and sign in", "On time and signed in on 4 of 5 days for 3 weeks"),
                ("Follow a three-step visual task list at placement", "Completes the list with no more than one prompt"),
                ("Ask a colleague for help when stuck", "Asks using words or a card, without staff modelling"),
            ],
        ),
        (
            "{name} will have the skills to apply for part-time paid work in retail, with support.",
            [
                ("Complete a simple application form", "All sections filled with help only to check spelling"),
                ("Answer three interview questions about themself", "Answers in a practice interview with a new adult"),
                ("Use a till to take payment for two items", "Correct change given in 4 of 5 role plays"),
            ],
        ),
    ],
    "independent_living": [
        (
            "{name} will travel independently by bus between home and college on a familiar route.",
            [
                ("Plan the journey using a journey-planner app", "Finds the right bus and time unaided"),
                ("Buy a ticket and tell the driver where they are going", "Does this on a real journey with staff at a distance"),
                ("Know what to do if the bus is late or diverted", "Uses the 'what if' card and phones the named contact"),
            ],
        ),
        (
            "{name} will prepare a simple hot meal safely for themself.",
            [
                ("Follow a picture recipe for beans on toast", "Completes the recipe in order with no physical help"),
                ("Use the hob and kettle safely", "Follows the safety checklist every time for 4 weeks"),
                ("Write a shopping list and buy the ingredients", "Buys every item on the list within £5"),
            ],
        ),
        (
            "{name} will manage a weekly budget of £30 using a banking app.",
            [
                ("Check the balance on the banking app", "Reads the balance correctly on three occasions"),
                ("Plan weekly spending on a simple sheet", "Plan stays within £30 for three weeks"),
            ],
        ),
    ],
    "community": [
        (
            "{name} will take part in a community group of their choosing alongside peers.",
            [
                ("Choose a group from three options", "Makes and explains a choice"),
                ("Attend the group with a peer, not staff", "Attends four sessions with staff only nearby"),
                ("Start a conversation with someone new", "Greets and asks one question at the group"),
            ],
        ),
        (
            "{name} will use local services, such as a café or library, and speak for themself.",
            [
                ("Order food and drink in a café", "Orders and pays without staff speaking for them"),
                ("Borrow a book or DVD from the library", "Uses the self-service machine or asks staff"),
            ],
        ),
    ],
    "health": [
        (
            "{name} will recognise when they are becoming anxious and use a calming strategy.",
            [
                ("Name feelings using the feelings scale", "Points to or says the right level when asked"),
                ("Choose and use a calming strategy", "Uses a strategy before the 'red' level on 3 occasions"),
                ("Tell a trusted adult when upset", "Tells an adult within the session, in their own way"),
            ],
        ),
        (
            "{name} will manage their own medication with a reminder app.",
            [
                ("Set medication reminders on the phone", "Reminders set for the week without help"),
                ("Take medication when the reminder goes off", "Takes it on time on 6 of 7 days for 3 weeks"),
            ],
        ),
        (
            "{name} will book and attend their own GP or dental appointment.",
            [
                ("Phone or use the app to book an appointment", "Books with a script card, no adult on the call"),
                ("Explain a health problem to a professional", "Gives two facts about the problem in a role play"),
            ],
        ),
    ],
}

CONTEXT_NOTES = {
    "classroom": ["in the kitchen classroom", "during the morning session", "in small-group work", "in the IT suite"],
    "work_placement": ["at the garden centre placement", "at the café placement", "at the charity shop placement"],
    "community": ["on the Tuesday community trip", "in town with a peer", "at the leisure centre"],
    "home": ["reported by family at home", "at home, from the home-school diary"],
    "residential": ["in the residential flat in the evening", "at weekend in residential"],
}

PROMPT_NOTES = {
    "full_physical": "needed hand-over-hand support",
    "partial_physical": "needed a light touch to start",
    "modelled": "copied after staff showed how",
    "verbal": "needed one verbal prompt",
    "gestural": "a pointing prompt was enough",
    "independent": "did it with no prompting",
}

SELF_WORDS = [
    "I did the bus on my own!",
    "I still need help with this one.",
    "I like doing this now.",
    "It was hard but I kept going.",
    "I want to do more of this.",
]

UNPLANNED = [
    ("Helped a new student find their way around college without being asked.", "community", "classroom"),
    ("Spoke up in a group meeting for the first time and gave an idea that was used.", "employment", "work_placement"),
    ("Made a friend at the youth club and now meets them at weekends.", "community", "community"),
]
