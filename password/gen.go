//go:build ignore

// gen writes common.txt, the list of common passwords muster refuses,
// from roots.txt and the patterns below: `go generate ./password`.
//
// Nothing here is copied from a leaked list: the roots are what every
// published top list shows people type, and the patterns are how they
// stretch them to a required length (digits counted up, a year, a "!",
// the root twice, a keyboard row). Only entries of at least MinLength
// (12) characters are kept, since shorter ones are refused anyway; they
// are lower case with separators removed, as Check compares them.
package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
)

const minLen = 12

func main() {
	roots, err := readLines("roots.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	set := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(s)
		if len(s) >= minLen && len(s) <= 40 {
			set[s] = true
		}
	}
	counting := []string{"1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789", "1234567890"}
	marks := []string{"!", "1!", "12!", "123!", "1234!", "!!", "!!!", "@123", "#1", "01", "007", "69", "99", "00", "11", "13", "22", "23", "321", "111", "000", "123123", "2580", "4321"}
	var years []string
	for y := 1970; y <= 2030; y++ {
		years = append(years, fmt.Sprint(y))
	}
	for i, r := range roots {
		for _, s := range counting {
			add(r + s)
			if i < 100 {
				add(s + r)
			}
		}
		if i < 150 {
			for _, s := range marks {
				add(r + s)
			}
		}
		if i < 50 {
			for _, y := range years {
				add(r + y)
			}
		}
		if i < 150 {
			add(r + r)
			add(r + r + "1")
			add("ilove" + r + "123")
			add("ilove" + r)
			add("my" + r + "123")
		}
	}
	// Digits and keyboard rows people take to be random.
	for _, s := range []string{
		"123456789012", "1234567890123", "12345678901234567890", "098765432109", "0987654321qwerty",
		"111111111111", "000000000000", "123123123123", "121212121212", "112233445566", "123456654321",
		"123456123456", "147258369147", "159753159753", "741852963741", "987654321987", "999999999999",
		"qwertyuiop12", "qwertyuiop123", "qwertyuiop1234", "qwertyuiopasdf", "qwertyuiopasdfghjkl", "qwertyuiopasdfghjklzxcvbnm",
		"1qaz2wsx3edc", "1qaz2wsx3edc4rfv", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u", "q1w2e3r4t5y6", "qazwsxedcrfv",
		"zaq12wsxcde3", "zaq1xsw2cde3", "asdfghjkl123", "asdfghjkl;'", "zxcvbnm12345", "zxcvbnm123456", "qweasdzxc123",
		"1234qwerasdf", "1234qwerasdfzxcv", "qwer1234asdf", "asdfasdfasdf", "qwerqwerqwer", "abcdefghijkl", "abcdefghijklm",
		"abcdefghijklmnopqrstuvwxyz", "abc123abc123", "abcd1234abcd", "a1b2c3d4e5f6", "aaaaaaaaaaaa", "abcabcabcabc",
		"qwertyqwerty", "azertyuiop12", "qwertzuiop12", "password1234", "passwordpassword",
		"correcthorsebatterystaple", "iloveyouforever", "iloveyousomuch", "letmeinplease", "letmeinnow123",
		"trustno1trustno1", "thequickbrownfox", "thequickbrownfoxjumpsoverthelazydog", "welcometomyworld",
		"changemenow123", "changeme12345", "administrator1", "administrator123", "superadministrator",
		"opensesame123", "whateverwhatever", "nopasswordhere", "mypasswordis123", "thisismypassword",
		"thisisapassword", "thisispassword", "supersecretpassword", "verysecretpassword", "secretpassword",
		"passwordsecret", "strongpassword", "strongpassword1", "securepassword", "securepassword1",
		"defaultpassword", "temppassword1", "passwordispassword", "passwordiloveyou", "godisgood1234",
		"jesuslovesme1", "jesusismylord", "blessedandhighlyfavored", "football12345", "manchesterunited",
		"liverpoolfc1892", "realmadrid123", "barcelona1899", "starwarsfan123", "harrypotter123", "lordoftherings",
		"princessbride", "spongebobsquarepants", "happybirthday", "happybirthday1", "merrychristmas", "goodmorning123",
		"helloworld123", "helloworld1234", "hellohellohello", "allahuakbar123", "bismillah1234", "afghanistan123",
		"afghanistan1234", "kabulafghanistan", "evacuation123", "emergency1234", "muster123456", "musterpassword",
	} {
		add(s)
	}
	list := make([]string, 0, len(set))
	for s := range set {
		list = append(list, s)
	}
	slices.Sort(list)
	f, err := os.Create("common.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	for _, s := range list {
		fmt.Fprintln(w, s)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, nil
}
