package osmimport

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"sort"

	"github.com/paulmach/osm"
)

// paulmach/osm has no PBF encoder, so the tests carry this small one: it
// writes nodes as DenseNodes and ways with delta-coded refs, in blocks of
// at most perBlock entities, zlib-compressed or raw.

type pbWriter struct{ b []byte }

func (w *pbWriter) key(field, wire int) { w.b = binary.AppendUvarint(w.b, uint64(field<<3|wire)) }
func (w *pbWriter) varint(field int, v uint64) {
	w.key(field, 0)
	w.b = binary.AppendUvarint(w.b, v)
}
func (w *pbWriter) bytes(field int, data []byte) {
	w.key(field, 2)
	w.b = binary.AppendUvarint(w.b, uint64(len(data)))
	w.b = append(w.b, data...)
}
func (w *pbWriter) packed(field int, vs []uint64) {
	var p []byte
	for _, v := range vs {
		p = binary.AppendUvarint(p, v)
	}
	w.bytes(field, p)
}

func zz(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func appendBlock(out []byte, typ string, payload []byte, compress bool) []byte {
	var blob pbWriter
	if compress {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(payload)
		zw.Close()
		blob.varint(2, uint64(len(payload)))
		blob.bytes(3, z.Bytes())
	} else {
		blob.bytes(1, payload)
	}
	var hdr pbWriter
	hdr.bytes(1, []byte(typ))
	hdr.varint(3, uint64(len(blob.b)))
	out = binary.BigEndian.AppendUint32(out, uint32(len(hdr.b)))
	out = append(out, hdr.b...)
	return append(out, blob.b...)
}

// encodePBF writes o's nodes and ways as an OSM PBF file.
func encodePBF(o *osm.OSM, perBlock int, compress bool) []byte {
	var header pbWriter
	header.bytes(4, []byte("OsmSchema-V0.6"))
	header.bytes(4, []byte("DenseNodes"))
	header.bytes(16, []byte("muster test encoder"))
	out := appendBlock(nil, "OSMHeader", header.b, compress)

	nodes := append(osm.Nodes(nil), o.Nodes...)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
	for start := 0; start < len(nodes); start += perBlock {
		chunk := nodes[start:min(start+perBlock, len(nodes))]
		strs, str := stringTable()
		var ids, lats, lons, keysVals []uint64
		var pid, plat, plon int64
		for _, n := range chunk {
			id, lat, lon := int64(n.ID), int64(n.Lat*1e7+0.5*sign(n.Lat)), int64(n.Lon*1e7+0.5*sign(n.Lon))
			ids, lats, lons = append(ids, zz(id-pid)), append(lats, zz(lat-plat)), append(lons, zz(lon-plon))
			pid, plat, plon = id, lat, lon
			for _, t := range n.Tags {
				keysVals = append(keysVals, str(t.Key), str(t.Value))
			}
			keysVals = append(keysVals, 0)
		}
		var dense pbWriter
		dense.packed(1, ids)
		dense.packed(8, lats)
		dense.packed(9, lons)
		dense.packed(10, keysVals)
		var group pbWriter
		group.bytes(2, dense.b)
		var block pbWriter
		var st pbWriter
		for _, s := range *strs {
			st.bytes(1, []byte(s))
		}
		block.bytes(1, st.b)
		block.bytes(2, group.b)
		out = appendBlock(out, "OSMData", block.b, compress)
	}
	for start := 0; start < len(o.Ways); start += perBlock {
		chunk := o.Ways[start:min(start+perBlock, len(o.Ways))]
		strs, str := stringTable()
		var group pbWriter
		for _, w := range chunk {
			var way pbWriter
			way.varint(1, uint64(w.ID))
			var keys, vals, refs []uint64
			for _, t := range w.Tags {
				keys, vals = append(keys, str(t.Key)), append(vals, str(t.Value))
			}
			var prev int64
			for _, n := range w.Nodes {
				refs = append(refs, zz(int64(n.ID)-prev))
				prev = int64(n.ID)
			}
			way.packed(2, keys)
			way.packed(3, vals)
			way.packed(8, refs)
			group.bytes(3, way.b)
		}
		var st pbWriter
		for _, s := range *strs {
			st.bytes(1, []byte(s))
		}
		var block pbWriter
		block.bytes(1, st.b)
		block.bytes(2, group.b)
		block.varint(17, 100)
		out = appendBlock(out, "OSMData", block.b, compress)
	}
	return out
}

// stringTable returns a block's string table, which starts with "" as
// the format asks, and a function that adds a string and returns its index.
func stringTable() (*[]string, func(string) uint64) {
	strs := []string{""}
	index := map[string]uint64{"": 0}
	return &strs, func(s string) uint64 {
		if i, ok := index[s]; ok {
			return i
		}
		index[s] = uint64(len(strs))
		strs = append(strs, s)
		return index[s]
	}
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}
