package admission_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

// A pass is signed when the waiting room admits someone and checked on
// every protected request, bound to the room and the identity. Keys rotate:
// the keyring signs with the newest key and still accepts the older one.
func ExampleKeyring_Verify() {
	older := admission.Key{ID: "2021-07a", Secret: []byte("an older secret of at least 32 bytes....")}
	newer := admission.Key{ID: "2021-07b", Secret: []byte("the current secret, at least 32 bytes...")}
	keys, err := admission.NewKeyring(newer, older)
	if err != nil {
		panic(err)
	}

	identityKey := []byte("the room's identity key, 32 bytes or more")
	alice := admission.HashIdentity(identityKey, "alice@example.com")
	bob := admission.HashIdentity(identityKey, "bob@example.com")

	opening := time.Date(2021, 7, 12, 20, 0, 0, 0, time.FixedZone("KST", 9*3600))
	token, err := keys.Sign(admission.Pass{
		Room:     "vaccine-55-59",
		Identity: alice,
		Issued:   opening,
		Expires:  opening.Add(10 * time.Minute),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("token:", token)

	now := opening.Add(time.Minute)
	fmt.Println("alice:", keys.Verify(now, token, "vaccine-55-59", alice))
	fmt.Println("bob with alice's pass:", keys.Verify(now, token, "vaccine-55-59", bob))
	fmt.Println("another room:", keys.Verify(now, token, "vaccine-50-54", alice))

	err = keys.Verify(opening.Add(10*time.Minute), token, "vaccine-55-59", alice)
	fmt.Println("at expiry:", err, errors.Is(err, admission.ErrInvalidPass))

	retired, _ := admission.NewKeyring(admission.Key{ID: "2021-07c", Secret: []byte("a secret from the next rotation.........")})
	fmt.Println("key retired:", retired.Verify(now, token, "vaccine-55-59", alice))

	p, _ := keys.Decode(now, token)
	fmt.Println("decoded:", p.Room, p.Identity.Short(), p.Expires, p.KeyID)
	// Output:
	// token: gh1.2021-07b.84NgJYLNNr8g3ACLNsWxtNbgPISpgvV58R_sfmEmgS8AAAF6ml-vgAAAAXqaaNdAdmFjY2luZS01NS01OQ.vlEs8AAWU2USiXWz9-P9q5Jsc8Bq8Y_iu_vGd3PKDy8
	// alice: <nil>
	// bob with alice's pass: admission: invalid pass: pass is for another identity
	// another room: admission: invalid pass: pass is for another room
	// at expiry: admission: invalid pass: expired true
	// key retired: admission: invalid pass: unknown or retired key id
	// decoded: vaccine-55-59 f383602582cd 2021-07-12 11:10:00 +0000 UTC 2021-07b
}
