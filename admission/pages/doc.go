// Package pages is the waiting room and the refusals as pages for people:
// html/template and embed, standard library only, in Korean and English.
//
// A Pages renders
//
//   - the waiting room (Pages.Waiting): position, ETA range, a progress
//     indicator, last updated, what to do and not to do; it refreshes
//     itself with and without JavaScript, honouring Retry-After, keeps
//     going through maintenance and outages while saying the place is kept,
//     and announces changes through an aria-live region;
//   - the refusals of the gate and the room (Pages.Deny, a
//     problem.DenyFunc for window.GateOptions.Deny and
//     admission.Options.Deny): not yet open (with the opening in the
//     campaign's zone), maintenance, outage, closed, not your turn, not
//     found. A request that does not ask for HTML gets the problem
//     document instead.
//
// The language comes from Accept-Language, with q-values (or a "lang"
// query parameter naming one of the pages' languages); dates and times are
// written for the language in the campaign's zone, such as
// "2021년 7월 12일 (월) 오후 8:00". A host adds a language or overrides
// strings (Options.Languages), replaces templates (Options.Templates), and
// can write its own pages with the same strings and formats (Pages.Lang).
//
// The pages load one style sheet and one script from Options.AssetPrefix
// (serve Pages.Assets there), so a Content-Security-Policy of
// script-src 'self' and style-src 'self' holds.
package pages
