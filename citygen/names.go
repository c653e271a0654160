package citygen

import (
	"fmt"
	"math/rand/v2"
)

// Name parts in the style of Kabul's streets and districts. The city is
// fictional; the names only have to read like a real city's so that
// operators and tests can tell places apart.
var nameWords = []string{
	"Gul", "Bagh", "Nawabad", "Fatullah", "Karte Se", "Chindawol", "Murad Khani",
	"Deh Afghanan", "Shor Bazaar", "Kolola Pushta", "Taimani", "Khair Khana",
	"Darulaman", "Karte Parwan", "Sherpur", "Karte Char", "Barchi", "Silo",
	"Bibi Mahro", "Surkh Abad", "Jamal Mina", "Qala-e Wahid", "Shahr-e Naw",
	"Wazirabad", "Baharistan", "Char Qala", "Kampani", "Paghman", "Kota-e Sangi",
	"Deh Mazang", "Bagh-e Bala", "Arzan Qimat", "Shewaki", "Qargha", "Chelsitoon",
	"Sarai Shamali", "Qasaba", "Hodkhel", "Butkhak", "Bagrami", "Tahia Maskan",
	"Shah Shaheed", "Ashiqan", "Arifan", "Jada Maiwand", "Asmai", "Sherdarwaza",
	"Zarnegar", "Babur", "Istalif", "Salang", "Panjshir", "Logar", "Shomali",
	"Aliabad", "Kart-e Naw", "Mikrorayan", "Golai Dawakhana", "Dehbori", "Parwan",
}

// namer hands out street and place names from the seeded generator.
type namer struct {
	rng  *rand.Rand
	used map[string]int
}

func newNamer(rng *rand.Rand) *namer { return &namer{rng: rng, used: map[string]int{}} }

func (n *namer) word() string { return nameWords[n.rng.IntN(len(nameWords))] }

// unique returns s, or s with a number when s was handed out before.
func (n *namer) unique(s string) string {
	n.used[s]++
	if k := n.used[s]; k > 1 {
		return fmt.Sprintf("%s %d", s, k)
	}
	return s
}

// street returns a name for a street of the given highway class.
func (n *namer) street(highway string) string {
	w := n.word()
	switch highway {
	case "trunk", "primary":
		return n.unique(w + " Road")
	case "secondary":
		return n.unique("Jada-e " + w)
	case "tertiary", "unclassified":
		return n.unique("Sarak-e " + w)
	case "living_street", "pedestrian":
		return n.unique("Guzar-e " + w)
	}
	switch n.rng.IntN(3) {
	case 0:
		return n.unique("Kocha-e " + w)
	case 1:
		return n.unique(w + " Street")
	}
	return fmt.Sprintf("%s Street %d", w, 1+n.rng.IntN(20))
}
