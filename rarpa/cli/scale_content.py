"""Words for `rarpa demo --scale`: names of learners, staff and providers, and
the extra wording that five years of a record need (revised targets, what the
learner said at reviews, where leavers went). The outcomes, targets, notes and
self-assessment words are the demo's own (demo_content.py)."""

FIRST_NAMES = [
    "Aaliyah", "Adam", "Aisha", "Alfie", "Amara", "Amelia", "Archie", "Arjun", "Ava", "Ayaan",
    "Bella", "Ben", "Bilal", "Caitlin", "Charlie", "Chloe", "Connor", "Daisy", "Daniel", "Dylan",
    "Eden", "Elijah", "Ella", "Emily", "Erin", "Ethan", "Evie", "Faisal", "Finley", "Freya",
    "Gabriel", "Grace", "Hamza", "Harper", "Harry", "Hassan", "Holly", "Ibrahim", "Imogen", "Isla",
    "Jack", "Jacob", "Jasmine", "Jayden", "Jessica", "Joel", "Joshua", "Kai", "Katie", "Kayden",
    "Layla", "Leo", "Liam", "Lily", "Logan", "Lucy", "Maya", "Megan", "Mohammed", "Molly",
    "Nathan", "Noah", "Olivia", "Omar", "Oscar", "Phoebe", "Poppy", "Rhys", "Riley", "Rosie",
    "Ruby", "Ryan", "Safiya", "Sam", "Sienna", "Sofia", "Tariq", "Theo", "Tyler", "Yusuf", "Zara", "Zoe",
]
# A preferred name some learners go by.
SHORT_NAMES = {
    "Alfie": "Alf", "Amelia": "Millie", "Benjamin": "Ben", "Charlie": "Chaz", "Daniel": "Dan",
    "Elijah": "Eli", "Gabriel": "Gabe", "Jessica": "Jess", "Joshua": "Josh", "Katie": "Kat",
    "Mohammed": "Mo", "Nathan": "Nate", "Samuel": "Sam", "Theo": "Teddy", "Zara": "Zee",
}
SURNAMES = [
    "Ahmed", "Ali", "Allen", "Anderson", "Atkinson", "Bailey", "Baker", "Begum", "Bell", "Brown",
    "Campbell", "Carter", "Chapman", "Clarke", "Collins", "Cooper", "Davies", "Dixon", "Edwards", "Ellis",
    "Evans", "Fisher", "Fletcher", "Foster", "Graham", "Green", "Hall", "Harris", "Hill", "Holmes",
    "Hughes", "Hussain", "Jackson", "James", "Johnson", "Jones", "Kaur", "Kelly", "Khan", "King",
    "Lee", "Lewis", "Lloyd", "Marshall", "Martin", "Mason", "Mensah", "Miah", "Mills", "Mitchell",
    "Moore", "Morgan", "Murphy", "Nowak", "O'Brien", "Okafor", "Owen", "Palmer", "Parker", "Patel",
    "Phillips", "Price", "Rahman", "Reid", "Richards", "Roberts", "Robinson", "Rose", "Russell", "Scott",
    "Shaw", "Singh", "Smith", "Stevens", "Taylor", "Thomas", "Thompson", "Turner", "Walker", "Ward",
    "Watson", "White", "Williams", "Wilson", "Wood", "Wright", "Young",
]

# Providers: general FE colleges (most learners) and specialist colleges.
TOWNS = [
    "Ashford", "Bramley", "Castleton", "Denholme", "Eastbrook", "Fairfield", "Glenmoor", "Hartwell",
    "Ingleby", "Kingsmere", "Langley", "Millbrook", "Newbridge", "Oakham Vale", "Pendle", "Queensbury",
    "Redhill", "Stanway", "Thornbury", "Upton", "Westfield", "Yardley",
]

LEARNER_VIEWS = [
    "I like the placement. I want to do more days.",
    "The bus is scary when it is busy but I can do it.",
    "I am proud of my cooking. I made pasta for my mum.",
    "I want to get a job in a shop.",
    "I like my new class. I have a friend now.",
    "I can do more things on my own this year.",
    "I don't like it when the room is noisy. The quiet room helps.",
    "I want to live with my friends one day.",
    "I did the money on my own at the café.",
    "I want to learn to drive.",
]

# What a target becomes when it is taken somewhere new (a revision at a review).
NEW_SETTINGS = [
    "in a new setting",
    "with a new member of staff",
    "at placement",
    "in the community",
    "without the prompt card",
    "over a whole term",
]
# A target broken into a smaller step (a renegotiation with the learner).
SMALLER_STEPS = [
    "With a visual prompt card: ",
    "In smaller steps: ",
    "With a peer to help: ",
    "Practised in class first: ",
]

ANNUAL_VIEWS = [
    "I want to keep going to placement and learn to cook more meals.",
    "I want to do a supported internship next year.",
    "I want to travel on my own to college every day.",
    "I want more time in the community and less in the classroom.",
    "I like college. I want to stay with my friends.",
]

NEXT_STEPS = [
    ("supported_internship", "Supported internship with the NHS trust from September", "NHS trust, estates team"),
    ("employment", "Part-time paid work in retail with a job coach", "Supermarket, 16 hours a week, job coach weekly"),
    ("further_learning", "Level 1 course at a general FE college", "Level 1 Horticulture, two days a week"),
    ("independent_living", "Moving to supported living with two friends", "Supported living flat in town, shared"),
    ("supported_internship", "Supported internship at the council", "Council offices, post room"),
]

UNPLANNED_EXTRA = [
    ("Took the train to the city with a friend for the first time.", "independent_living", "community"),
    ("Led the tea break at placement when the supervisor was away.", "employment", "work_placement"),
    ("Joined a football team at the leisure centre.", "community", "community"),
    ("Booked their own dental check-up on the phone.", "health", "home"),
]
