package bench

// The vocabulary of the synthetic organisation. Names are ASCII, so that userPrincipalNames built from them are
// valid as they are, and given names are distinct from one another, so that startswith(displayName,'Given')
// finds about Users/len(givenNames) people.

var givenNames = []string{
	"Aaliyah", "Abdul", "Ada", "Adrian", "Aiko", "Alan", "Alejandro", "Alexei", "Alice", "Amara",
	"Amelia", "Amir", "Ana", "Anders", "Andrea", "Anika", "Anton", "Arjun", "Astrid", "Aurora",
	"Ayesha", "Beatriz", "Benedict", "Bianca", "Boris", "Brigitte", "Bruno", "Camila", "Carlos", "Carmen",
	"Catalina", "Chen", "Chiara", "Chloe", "Claire", "Dalia", "Damien", "Daniel", "Dara", "Deepak",
	"Diego", "Dmitri", "Elena", "Elif", "Elijah", "Emeka", "Emil", "Emma", "Esther", "Fatima",
	"Felix", "Fernando", "Fiona", "Francesca", "Gabriel", "Grace", "Hana", "Hannah", "Hassan", "Hector",
	"Helga", "Hiroshi", "Ibrahim", "Ines", "Ingrid", "Isaac", "Isabella", "Ivan", "Jakob", "Jamal",
	"Javier", "Jin", "Joao", "Jonas", "Jorge", "Julia", "Kai", "Kamala", "Karim", "Katarina",
	"Kenji", "Kofi", "Lars", "Layla", "Leila", "Leon", "Lucia", "Luka", "Mai", "Malik",
	"Marco", "Margarethe", "Maria", "Mateo", "Mei", "Mihai", "Mohammed", "Nadia", "Naledi", "Natasha",
	"Nikhil", "Nina", "Noah", "Nora", "Olga", "Omar", "Oscar", "Paolo", "Patrice", "Pedro",
	"Priya", "Quentin", "Rafael", "Rania", "Ravi", "Rosa", "Ruth", "Sakura", "Samir", "Sara",
	"Sebastian", "Shira", "Sofia", "Sven", "Tariq", "Thandiwe", "Theo", "Tomasz", "Uma", "Valentina",
	"Vikram", "Wei", "Wilhelmina", "Xavier", "Yara", "Yusuf", "Zainab", "Zara", "Zoltan", "Zora",
}

var surnames = []string{
	"Abbott", "Adeyemi", "Alvarez", "Andersson", "Bauer", "Becker", "Bianchi", "Brown", "Castillo", "Chatterjee",
	"Chen", "Cohen", "Costa", "Dubois", "Eriksen", "Fernandez", "Fischer", "Garcia", "Gomez", "Gupta",
	"Hansen", "Hernandez", "Hoffmann", "Ivanova", "Jackson", "Jansen", "Johansson", "Kim", "Kowalski", "Kumar",
	"Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Mueller", "Murphy", "Nakamura", "Nguyen",
	"Novak", "Okafor", "Olsen", "Park", "Patel", "Perez", "Petrov", "Popescu", "Rossi", "Sato",
	"Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor", "Thompson", "Wagner", "Walker",
	"Wang", "Weber", "Williams", "Wilson", "Wong", "Yamamoto", "Yilmaz", "Zhang", "Zhou", "Zimmermann",
}

var departments = []string{
	"Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Legal", "Operations", "Support",
	"Research", "Product", "Design", "Security", "Facilities", "Procurement",
}

var jobTitles = []string{
	"Software Engineer", "Senior Software Engineer", "Account Executive", "Marketing Specialist", "Financial Analyst",
	"HR Generalist", "Counsel", "Operations Analyst", "Support Engineer", "Research Scientist", "Product Designer",
	"Security Analyst", "Program Manager", "Data Scientist", "Technical Writer", "Recruiter",
}

// managerTitles are indexed by depth in the management tree.
var managerTitles = []string{
	"Chief Executive Officer", "Executive Vice President", "Vice President", "Senior Director", "Director",
	"Senior Manager", "Manager", "Team Lead",
}

type office struct{ city, country, usage, lang, phone string }

var offices = []office{
	{"Seattle", "United States", "US", "en-US", "+1 206 555 "},
	{"New York", "United States", "US", "en-US", "+1 212 555 "},
	{"Austin", "United States", "US", "en-US", "+1 512 555 "},
	{"Toronto", "Canada", "CA", "en-CA", "+1 416 555 "},
	{"London", "United Kingdom", "GB", "en-GB", "+44 20 7946 "},
	{"Dublin", "Ireland", "IE", "en-IE", "+353 1 555 "},
	{"Berlin", "Germany", "DE", "de-DE", "+49 30 5555 "},
	{"Paris", "France", "FR", "fr-FR", "+33 1 5555 "},
	{"Madrid", "Spain", "ES", "es-ES", "+34 91 555 "},
	{"Stockholm", "Sweden", "SE", "sv-SE", "+46 8 555 "},
	{"Bangalore", "India", "IN", "en-IN", "+91 80 5555 "},
	{"Tokyo", "Japan", "JP", "ja-JP", "+81 3 5555 "},
	{"Singapore", "Singapore", "SG", "en-SG", "+65 6555 "},
	{"Sydney", "Australia", "AU", "en-AU", "+61 2 5555 "},
	{"Sao Paulo", "Brazil", "BR", "pt-BR", "+55 11 5555 "},
	{"Nairobi", "Kenya", "KE", "en-KE", "+254 20 555 "},
}

var partnerDomains = []string{
	"fabrikam.example", "northwindtraders.example", "adventure-works.example", "tailspintoys.example",
	"wingtiptoys.example", "litwareinc.example", "proseware.example", "woodgrovebank.example",
}

var teamWords = []string{
	"Platform", "Payments", "Identity", "Search", "Mobile", "Billing", "Analytics", "Infrastructure", "Growth",
	"Compliance", "Onboarding", "Partners", "Reliability", "Storage", "Messaging", "Insights",
}
