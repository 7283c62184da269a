/* Word lists behind the name, email, address and city transformers. Written
 * by hand for doppel (no dataset copied): a mix of given names and surnames
 * from many languages, ASCII letters only so they lower-case into email local
 * parts as they are; streets and cities are plain, mostly invented, place
 * names. The sizes set how many distinct fakes a transformer can make
 * (150 x 150 full names), which matters for unique columns. */
#include "data/dict.h"

#define DICT(name, arr) const dp_dict name = { arr, sizeof(arr) / sizeof(arr[0]) }

static const char *const first_names[] = {
	"Aaron",   "Ada",     "Adrian",  "Aiko",    "Alan",    "Alba",     "Alice",   "Amara",   "Amir",
	"Anders",  "Andrea",  "Anika",   "Anton",   "Arjun",   "Astrid",   "Aurora",  "Axel",    "Beatriz",
	"Ben",     "Bianca",  "Boris",   "Bruno",   "Caleb",   "Camille",  "Carlos",  "Carmen",  "Chiara",
	"Chloe",   "Clara",   "Colin",   "Dalia",   "Daniel",  "Dario",    "Daphne",  "David",   "Delia",
	"Diego",   "Dmitri",  "Edith",   "Elena",   "Elif",    "Elias",    "Eliza",   "Emil",    "Emma",
	"Erik",    "Esther",  "Ezra",    "Fatima",  "Felix",   "Fiona",    "Flora",   "Frida",   "Gabriel",
	"Gemma",   "Greta",   "Hana",    "Hannah",  "Harvey",  "Hector",   "Helena",  "Hugo",    "Ida",
	"Igor",    "Ines",    "Ingrid",  "Iris",    "Isaac",   "Ivan",     "Jade",    "Jamal",   "Jana",
	"Jasper",  "Joel",    "Jonas",   "Julia",   "June",    "Kai",      "Karim",   "Kenji",   "Kira",
	"Lara",    "Laszlo",  "Leah",    "Leon",    "Lena",    "Liam",     "Lina",    "Lucas",   "Lucia",
	"Luca",    "Lydia",   "Maja",    "Malik",   "Marco",   "Marta",    "Mateo",   "Maya",    "Mei",
	"Mila",    "Milan",   "Mina",    "Nadia",   "Naomi",   "Nico",     "Nils",    "Nina",    "Noah",
	"Noor",    "Nora",    "Olga",    "Oliver",  "Omar",    "Oscar",    "Otto",    "Paula",   "Pedro",
	"Petra",   "Priya",   "Quinn",   "Rafael",  "Ravi",    "Rhea",     "Rosa",    "Ruben",   "Ruth",
	"Sami",    "Sara",    "Selma",   "Simon",   "Sofia",   "Stella",   "Tariq",   "Tess",    "Theo",
	"Tobias",  "Tomas",   "Una",     "Valentin", "Vera",   "Victor",   "Wanda",   "Wes",     "Xavier",
	"Yara",    "Yusuf",   "Zara",    "Zoe",     "Zoran",   "Agnes",
};
DICT(dp_dict_first_names, first_names);

static const char *const last_names[] = {
	"Abbott",   "Adler",    "Alvarez",  "Andersen", "Arnold",   "Bakker",   "Barros",   "Bauer",
	"Becker",   "Bennett",  "Berg",     "Bishop",   "Blanco",   "Brandt",   "Brooks",   "Campbell",
	"Carter",   "Carver",   "Castillo", "Chen",     "Clarke",   "Coleman",  "Costa",    "Cruz",
	"Dalton",   "Davies",   "Dekker",   "Diaz",     "Dubois",   "Duncan",   "Dunn",     "Ellis",
	"Eriksen",  "Evans",    "Falk",     "Farrell",  "Fischer",  "Fleming",  "Fontaine", "Foster",
	"Fox",      "Garcia",   "Gardner",  "Gomez",    "Graham",   "Gray",     "Greer",    "Gruber",
	"Hahn",     "Hale",     "Hansen",   "Harper",   "Hayes",    "Herrera",  "Hoffman",  "Holm",
	"Hughes",   "Ibrahim",  "Irving",   "Ito",      "Jansen",   "Jensen",   "Jordan",   "Kaur",
	"Keller",   "Kennedy",  "Kerr",     "Khan",     "Kim",      "Klein",    "Kowalski", "Kruger",
	"Lambert",  "Larsen",   "Laurent",  "Lindqvist", "Lopez",   "Lorenz",   "Lowe",     "Lund",
	"Maddox",   "Marsh",    "Martens",  "Mendes",   "Mercer",   "Meyer",    "Moreau",   "Moreno",
	"Morgan",   "Murphy",   "Nakamura", "Nash",     "Navarro",  "Nielsen",  "Novak",    "Nowak",
	"Okafor",   "Olsen",    "Ortega",   "Osei",     "Owens",    "Parker",   "Patel",    "Pereira",
	"Peters",   "Petrov",   "Pike",     "Popescu",  "Quint",    "Ramos",    "Reed",     "Reyes",
	"Richter",  "Rivera",   "Rossi",    "Rowe",     "Russo",    "Sanders",  "Santos",   "Sato",
	"Schmidt",  "Schulz",   "Shaw",     "Silva",    "Singh",    "Sorensen", "Stone",    "Sullivan",
	"Suzuki",   "Tanaka",   "Tate",     "Torres",   "Turner",   "Underwood", "Vance",   "Vargas",
	"Vogel",    "Wagner",   "Walsh",    "Ward",     "Weber",    "Wells",    "Winter",   "Wolf",
	"Yates",    "Yilmaz",   "Young",    "Zhang",    "Ziegler",  "Zimmer",
};
DICT(dp_dict_last_names, last_names);

static const char *const streets[] = {
	"Acorn",      "Alder",      "Amber",       "Apple Blossom", "Ash Grove",  "Aspen",       "Bay Tree",
	"Beacon",     "Beech",      "Birch",       "Blackthorn",    "Bluebell",   "Briar",       "Brook",
	"Canal",      "Cedar",      "Chapel",      "Cherry",        "Chestnut",   "Clover",      "Copper",
	"Coral",      "Cottage",    "Crescent Hill", "Cypress",     "Daisy",      "Elder",       "Elm",
	"Fern",       "Fieldstone", "Foxglove",    "Garden",        "Glen",       "Granite",     "Harbor",
	"Hawthorn",   "Hazel",      "Heather",     "Heron",         "Hillside",   "Holly",       "Ivy",
	"Juniper",    "Kestrel",    "Kingfisher",  "Lakeview",      "Lantern",    "Laurel",      "Lavender",
	"Linden",     "Magnolia",   "Maple",       "Meadow",        "Mill",       "Mulberry",    "Oak",
	"Old Quarry", "Orchard",    "Pebble",      "Pine",          "Poplar",     "Primrose",    "Quarry",
	"Riverside",  "Rosewood",   "Rowan",       "Sage",          "Silver Birch", "Skylark",   "Spruce",
	"Stonebridge", "Summit",    "Sunset",      "Sycamore",      "Thistle",    "Timber",      "Valley",
	"Walnut",     "Willow",     "Windmill",
};
DICT(dp_dict_streets, streets);

static const char *const street_suffixes[] = {
	"Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Way", "Terrace", "Boulevard",
};
DICT(dp_dict_street_suffixes, street_suffixes);

static const char *const cities[] = {
	"Amberly",     "Ashbury",      "Ashford",     "Bayport",      "Bellmont",     "Birchwood",
	"Blackwater",  "Brambleton",   "Brightwater", "Brookhaven",   "Cedarville",   "Clearwater",
	"Cloverdale",  "Coldbrook",    "Copperton",   "Crestview",    "Deepwell",     "Dunmore",
	"Eastbrook",   "Elmhurst",     "Fairhaven",   "Fallbrook",    "Fernhill",     "Foxborough",
	"Glenrock",    "Goldcrest",    "Granite Falls", "Greenfield", "Hartwell",     "Hazelton",
	"Highcliff",   "Hollowmere",   "Ironbridge",  "Juniper Bay",  "Kingsbridge",  "Lakeside",
	"Larkspur",    "Linden Park",  "Longmeadow",  "Maplewood",    "Marsh Harbor", "Meadowbrook",
	"Millbrook",   "Mistral",      "Northgate",   "Oakdale",      "Old Harbor",   "Pinecrest",
	"Pleasant Hill", "Quarry Bay", "Ravenwood",   "Redcliff",     "Ridgefield",   "Riverbend",
	"Rockport",    "Rosedale",     "Saltmarsh",   "Sandpoint",    "Shady Grove",  "Silverlake",
	"Southport",   "Springvale",   "Stillwater",  "Stonehaven",   "Summerfield",  "Sunnyside",
	"Thornbury",   "Timberline",   "Twin Oaks",   "Upper Vale",   "Valemont",     "Westbrook",
	"Westfield",   "Whitby Cross", "Willowdale",  "Windmere Falls", "Woodhaven",  "Wrenford",
	"Yarrow",      "Yorkfield",
};
DICT(dp_dict_cities, cities);
