package dnszone

// Answer writes the response to the DNS query in query into out and
// returns its length, or 0 if no reply must be sent. It counts the outcome
// in st (exactly one counter besides Queries).
//
// out may be the same buffer as query (same first byte): the response is
// then built in place, which is how the in-graph UDP handler answers in
// the packet buffer. Other overlaps are not allowed. len(out) bounds the
// response size (in addition to the 512-byte or EDNS limit), so pass the
// full writable capacity, e.g. p[:cap(p)].
//
// Answer never allocates, takes no lock and only reads z, so it may run on
// any number of goroutines at once, each with its own st.
func (z *Zone) Answer(query, out []byte, st *Stats) int {
	q := query
	st.Queries++
	if len(q) < hdrLen {
		st.DroppedShort++
		return 0
	}
	flags := be16(q[offFlags:])
	if flags&flagQR != 0 {
		st.DroppedResponse++
		return 0
	}
	if len(out) < hdrLen {
		st.DroppedNoSpace++
		return 0
	}
	id := be16(q)
	keep := flags & (flagRD | flagCD)
	if flags&opcodeMask != 0 {
		st.NotImp++
		return headerOnly(out, id, flags&opcodeMask|keep|rcodeNotImp)
	}
	arCount := be16(q[offARCount:])
	if be16(q[offQDCount:]) != 1 || be16(q[offANCount:]) != 0 || be16(q[offNSCount:]) != 0 || arCount > 1 {
		return formErr(out, id, keep, st)
	}

	// Question name: labels only, no compression, hashed lower-cased.
	h := uint32(fnvOffset)
	off := hdrLen
	for {
		if off >= len(q) {
			return formErr(out, id, keep, st)
		}
		l := int(q[off])
		if l == 0 {
			h *= fnvPrime // h ^= 0
			off++
			break
		}
		end := off + 1 + l
		if l > maxLabelLen || end >= len(q) || end-hdrLen > maxNameLen-1 {
			return formErr(out, id, keep, st)
		}
		h = (h ^ uint32(l)) * fnvPrime
		for _, c := range q[off+1 : end] {
			h = (h ^ uint32(lower(c))) * fnvPrime
		}
		off = end
	}
	qend := off // end of QNAME
	if qend+4 > len(q) {
		return formErr(out, id, keep, st)
	}
	qtype := be16(q[qend:])
	qclass := be16(q[qend+2:])
	off = qend + 4

	// Optional OPT record, the only record allowed in the additional section.
	limit := udpMinLimit
	opt := 0 // bytes of OPT in the response
	var do uint16
	var version byte
	if arCount == 1 {
		if off+optLen > len(q) || q[off] != 0 || be16(q[off+1:]) != typeOPT {
			return formErr(out, id, keep, st)
		}
		if size := int(be16(q[off+optOffClassSize:])); size > limit {
			limit = size
		}
		version = q[off+6]
		do = be16(q[off+optOffFlags:]) & optFlagDO
		off += optLen + int(be16(q[off+9:]))
		opt = optLen
	}
	if off != len(q) || qtype == typeOPT {
		return formErr(out, id, keep, st)
	}
	if limit > len(out) {
		limit = len(out)
	}
	qlen := qend + 4 // header + question
	if qlen+opt > limit {
		st.DroppedNoSpace++
		return 0
	}

	switch {
	case version != 0:
		st.BadVers++
		return reply(q, out, qlen, id, keep, opt, do, extRcodeBadVers)
	case qclass == classANY:
		st.NotImp++
		return reply(q, out, qlen, id, keep|rcodeNotImp, opt, do, 0)
	case qclass != classIN:
		st.Refused++
		return reply(q, out, qlen, id, keep|rcodeRefused, opt, do, 0)
	case qtype >= typeIXFR && qtype <= typeANY:
		st.NotImp++
		return reply(q, out, qlen, id, keep|rcodeNotImp, opt, do, 0)
	}

	// In zone: the apex must be a label-aligned suffix of QNAME.
	alen := len(z.apex)
	at := qend - alen
	if at < hdrLen || !equalFold(z.apex, q[at:qend]) || !labelStart(q, at) {
		st.Refused++
		return reply(q, out, qlen, id, keep|rcodeRefused, opt, do, 0)
	}

	e := z.lookup(h, q[hdrLen:qend])
	if e == nil {
		n := qlen + len(z.nxSOA)
		if n+opt > limit {
			st.Truncated++
			return reply(q, out, qlen, id, keep|flagAA|flagTC|rcodeNXDomain, opt, do, 0)
		}
		st.NXDomain++
		copy(out[hdrLen:qlen], q[hdrLen:qlen])
		copy(out[qlen:n], z.nxSOA)
		put16(out[qlen:], 0xC000|uint16(at))
		return finish(out, n, id, keep|flagQR|flagAA|rcodeNXDomain, 0, 1, 0, opt, do, 0)
	}

	r := &e.resp[typeSlot(qtype)]
	tf := be16(r.b[offFlags:])
	n := len(r.b)
	ar := be16(r.b[offARCount:])
	if n+opt > limit {
		if r.minLen+opt > limit {
			st.Truncated++
			return reply(q, out, qlen, id, keep|tf|flagTC, opt, do, 0)
		}
		n, ar = r.minLen, 0
	}
	switch r.outcome {
	case outAnswer:
		st.Answers++
	case outNoData:
		st.NoData++
	default:
		st.NXDomain++
	}
	copy(out[hdrLen:qlen], q[hdrLen:qlen])
	copy(out[qlen:n], r.b[qlen:n])
	return finish(out, n, id, keep|tf, be16(r.b[offANCount:]), be16(r.b[offNSCount:]), ar, opt, do, 0)
}

// labelStart reports whether offset at of the (already validated) QNAME
// in q starts a label.
func labelStart(q []byte, at int) bool {
	i := hdrLen
	for i < at {
		i += 1 + int(q[i])
	}
	return i == at
}

// formErr writes a header-only FORMERR.
func formErr(out []byte, id, keep uint16, st *Stats) int {
	st.FormErr++
	return headerOnly(out, id, keep|rcodeFormErr)
}

// headerOnly writes a 12-byte response with no sections. len(out) >= 12.
func headerOnly(out []byte, id, flags uint16) int {
	out = out[:hdrLen]
	put16(out[0:], id)
	put16(out[offFlags:], flagQR|flags)
	clear(out[offQDCount:])
	return hdrLen
}

// reply writes header + the query's question (+ OPT if opt != 0) with
// empty sections. qlen+opt <= len(out).
func reply(q, out []byte, qlen int, id, flags uint16, opt int, do uint16, ext byte) int {
	copy(out[hdrLen:qlen], q[hdrLen:qlen])
	return finish(out, qlen, id, flagQR|flags, 0, 0, 0, opt, do, ext)
}

// finish writes the header of a response whose sections end at n, then
// appends an OPT record if opt != 0 (the caller has checked that
// n+opt <= len(out)), and returns the response length.
func finish(out []byte, n int, id, flags, an, ns, ar uint16, opt int, do uint16, ext byte) int {
	h := out[:hdrLen]
	put16(h[0:], id)
	put16(h[offFlags:], flags)
	put16(h[offQDCount:], 1)
	put16(h[offANCount:], an)
	put16(h[offNSCount:], ns)
	if opt == 0 {
		put16(h[offARCount:], ar)
		return n
	}
	put16(h[offARCount:], ar+1)
	o := out[n : n+optLen]
	o[0] = 0
	put16(o[1:], typeOPT)
	put16(o[optOffClassSize:], ourUDPPayload)
	o[optOffExtRcode] = ext
	o[6] = 0 // version
	put16(o[optOffFlags:], do)
	put16(o[9:], 0) // RDLENGTH
	return n + optLen
}
