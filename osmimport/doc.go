// Package osmimport turns an OpenStreetMap extract into muster's road
// graphs: one roadgraph.Graph per travel profile (car, foot). The car
// graph is the largest strongly connected part of the car network, so that
// every node can reach every other; the foot graph is that and every other
// walkable piece (strongly connected part; Options.MinFootPiece can drop
// the small ones), with no arc between two pieces (roadgraph.Graph.Pieces labels
// them): a town that a road closed to pedestrians cuts off is still where
// people live. Options.FootEmergency opens such roads to pedestrians where
// nothing else joins two pieces, and lists their arcs in the graph
// (PROFILES.md, "In an emergency").
//
// Input: ImportFile and Import read .osm.pbf, .osm XML, and either of them
// gzip- or bzip2-compressed, recognised by their first bytes whatever the
// file is called; FromOSM takes paulmach/osm data already in memory.
//
// # Graph
//
// A graph node is an OSM node where a usable way ends, where a way is cut
// by a node missing from the extract, or that two usable way segments
// share. Other nodes become shape points of the arc that passes them. An
// arc's length is the haversine length of its shape (muster.DistanceM);
// its name is the way's name, else its ref. Parallel arcs are kept; loops
// of no length are dropped. Nodes are numbered along a Hilbert curve, so
// that nodes near in space are near in memory.
//
// # Profiles
//
// Which highway=* values each profile uses, and the speed limit assumed
// for cars when maxspeed gives none (PROFILES.md says the same at more
// length; keep the two and highwayClasses in step):
//
//	highway          car  car limit km/h   foot
//	motorway         yes  120              no (unless foot=yes)
//	motorway_link    yes   60              no (unless foot=yes)
//	trunk            yes  100              yes
//	trunk_link       yes   50              yes
//	primary          yes   60              yes
//	primary_link     yes   40              yes
//	secondary        yes   50              yes
//	secondary_link   yes   40              yes
//	tertiary         yes   50              yes
//	tertiary_link    yes   40              yes
//	unclassified     yes   40              yes
//	residential      yes   30              yes
//	living_street    yes   10              yes
//	service          yes   20              yes
//	road             yes   30              yes
//	track            grade1 only  20       yes
//	pedestrian, footway, path, cycleway,
//	bridleway, corridor, steps  no         yes
//
// Any other value (construction, proposed, platform, raceway, ...) and any
// way with area=yes (a square drawn as a polygon) is not routable.
//
// Access: the most specific tag present decides (car: motorcar,
// motor_vehicle, vehicle, access; foot: foot, access). no, agricultural,
// forestry, emergency, military and use_sidepath exclude the way.
// private, destination, permit, customers and delivery are KEPT: an
// evacuation's operator authorises them, and the Porto Alegre airport's
// gates sit on access=private service ways. A class a profile does not use
// by default opens only with that profile's own key (foot=yes on a
// motorway); motorroad=yes closes a road to pedestrians.
//
// Barriers, cars: a node with barrier=bollard, block, jersey_barrier,
// cycle_barrier, kissing_gate, stile, turnstile, fence, wall and the like
// cuts the ways through it, unless an access tag on the node allows cars
// (motor_vehicle=yes on a removable bollard); a node with access=no cuts
// them too. Gates, lift gates and chains do not: the operator opens them
// (the Porto Alegre airport gates are barrier=gate, access=private nodes).
// Pedestrians pass every barrier.
//
// One-way, cars: oneway:motorcar, oneway:motor_vehicle, then oneway:
// yes/true/1 forward only, -1/reverse backward only, no/false/0 both ways;
// without a value, junction=roundabout (or circular), motorway and
// motorway_link are one-way forward. reversible/alternating ways are left
// out of the car graph, since their direction depends on the hour. Foot
// ignores oneway and obeys only oneway:foot.
//
// Speed, cars: maxspeed (and maxspeed:forward/backward) in km/h, "50 mph",
// "10 knots", "walk" (7 km/h), "DE:zone30"; "none", "signals", country
// codes such as "PT:urban" or "BR:urban", values outside 1-300 km/h and
// anything unreadable fall back to the class limit, never to an error.
// Several values separated by ";" give the lowest. Travel speed is a
// fraction of the limit: 90% on motorway and trunk roads (and their links),
// where traffic flows near the limit, and 80% elsewhere, where junctions,
// crossings and parking slow it.
// Foot: 5 km/h, 2.5 km/h on steps. Every arc takes at least 1 ms.
//
// # Memory and speed
//
// The input is read in one pass (see read.go); Porto (3.2 MB PBF, 348,000
// nodes) imports in about half a second with a peak of under 100 MB.
// PBF blocks are inflated and decoded on GOMAXPROCS goroutines by this
// package's own bounds-checked decoder (see pbf.go for why not osmpbf).
package osmimport
