/* SPDX-License-Identifier: GPL-2.0-or-later */
/* write_plan: the write path's decisions (contract in write_plan.h). */
#include "write_plan.h"

#include <errno.h>
#include <string.h>

#include "backend.h"

int
write_plan_open(const struct write_plan_in *in, struct write_plan *out)
{
	unsigned fl = in->flags;
	bool fresh;

	memset(out, 0, sizeof(*out));
	out->flags = fl;
	if (in->exists && in->is_dir)
		return -EISDIR;
	if (!in->exists && !(fl & BO_CREATE))
		return -ENOENT;
	if (in->exists && (fl & BO_CREATE) && (fl & BO_EXCL))
		return -EEXIST;
	if (!(fl & BO_WRITE)) {
		out->how = WH_READ;
		return 0;
	}
	out->creates = !in->exists;
	if (in->caps & BCAP_PWRITE) {
		out->how = WH_PWRITE;
		return 0;
	}
	fresh = (fl & BO_TRUNC) || !in->exists;
	if (fl & BO_READ) {
		/* Reads need the content: only a local copy has both. */
		out->how = WH_SPOOL;
		out->spool_fetch = !fresh;
		out->truncate_first = fresh;
		out->check_writable = in->exists && !(fl & BO_TRUNC);
		if (fresh)
			out->flags |= BO_TRUNC;
		return 0;
	}
	if ((fl & BO_APPEND) && !(fl & BO_TRUNC)) {
		/*
		 * An append never rewrites what is there, whoever wrote it:
		 * APPE creates a missing file, and extends an existing one at
		 * the server's end, not where we last saw it end.
		 */
		out->how = WH_APPEND;
		out->creates = false;
		return 0;
	}
	if (fresh) {
		out->how = WH_STREAM;
		out->flags |= BO_TRUNC;
		out->flags &= ~(unsigned)BO_APPEND;
		return 0;
	}
	/* Writes into an existing file's middle: through a local copy. */
	out->how = WH_SPOOL;
	out->spool_fetch = true;
	out->check_writable = true;
	return 0;
}

enum upload_result
upload_verdict(const struct upload_facts *f)
{
	uint64_t want;

	if (!f->transfer_ok) {
		/* Ours to remove only if we made it and it holds no more
		 * than we sent (nobody else has written it since). */
		if (f->created && f->have_after && f->after <= f->sent)
			return UV_FAIL_DISCARD;
		return UV_FAIL_KEEP;
	}
	if (!f->have_after)
		return UV_OK_UNVERIFIED;
	if (f->append) {
		if (!f->have_before)
			return f->after >= f->sent ? UV_OK_UNVERIFIED
			                           : UV_FAIL_KEEP;
		want = f->before + f->sent;
		if (want < f->before) /* overflow: nonsense sizes */
			return UV_FAIL_KEEP;
		if (f->after == want)
			return UV_OK;
		return f->after > want ? UV_OK_FOREIGN : UV_FAIL_KEEP;
	}
	if (f->after == f->sent)
		return UV_OK;
	if (f->after > f->sent)
		return UV_OK_FOREIGN; /* another writer came after us */
	return f->created ? UV_FAIL_DISCARD : UV_FAIL_KEEP;
}

const char *
upload_result_name(enum upload_result r)
{
	switch (r) {
	case UV_OK:
		return "complete";
	case UV_OK_UNVERIFIED:
		return "complete (size not checked)";
	case UV_OK_FOREIGN:
		return "complete, with another writer's bytes";
	case UV_FAIL_KEEP:
		return "failed; server's file left as it is";
	case UV_FAIL_DISCARD:
		return "failed; our partial file removed";
	}
	return "?";
}
