/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * PAGEMAP_SCAN (Linux 6.7) and userfaultfd's asynchronous write protection
 * (Linux 6.7), for hosts whose linux-libc-dev predates them (Debian 12 has
 * 6.1). The definitions between the markers are exact copies of Linux
 * 7.3's include/uapi/linux/fs.h and include/uapi/linux/userfaultfd.h; the
 * system's headers win where they have them.
 */
#ifndef IBODP_UAPI_PAGEMAP_SCAN_H_
#define IBODP_UAPI_PAGEMAP_SCAN_H_

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

#ifndef PAGEMAP_SCAN
/* --- include/uapi/linux/fs.h --- */
#define PROCFS_IOCTL_MAGIC 'f'

/* Pagemap ioctl */
#define PAGEMAP_SCAN	_IOWR(PROCFS_IOCTL_MAGIC, 16, struct pm_scan_arg)

/* Bitmasks provided in pm_scan_args masks and reported in page_region.categories. */
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)
#define PAGE_IS_GUARD		(1 << 8)
#define PAGE_IS_ACCESSED	(1 << 9)

/*
 * struct page_region - Page region with flags
 * @start:	Start of the region
 * @end:	End of the region (exclusive)
 * @categories:	PAGE_IS_* category bitmask for the region
 */
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

/* Flags for PAGEMAP_SCAN ioctl */
#define PM_SCAN_WP_MATCHING	(1 << 0)	/* Write protect the pages matched. */
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)	/* Abort the scan when a non-WP-enabled page is found. */

/*
 * struct pm_scan_arg - Pagemap ioctl argument
 * @size:		Size of the structure
 * @flags:		Flags for the IOCTL
 * @start:		Starting address of the region
 * @end:		Ending address of the region
 * @walk_end		Address where the scan stopped (written by kernel).
 *			walk_end == end (address tags cleared) informs that the scan completed on entire range.
 * @vec:		Address of page_region struct array for output
 * @vec_len:		Length of the page_region struct array
 * @max_pages:		Optional limit for number of returned pages (0 = disabled)
 * @category_inverted:	PAGE_IS_* categories which values match if 0 instead of 1
 * @category_mask:	Skip pages for which any category doesn't match
 * @category_anyof_mask: Skip pages for which no category matches
 * @return_mask:	PAGE_IS_* categories that are to be reported in `page_region`s returned
 */
struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};
/* --- end of include/uapi/linux/fs.h --- */
#endif /* PAGEMAP_SCAN */

#ifndef UFFD_FEATURE_WP_ASYNC
/* --- include/uapi/linux/userfaultfd.h --- */
#define UFFD_FEATURE_WP_UNPOPULATED		(1<<13)
#define UFFD_FEATURE_POISON			(1<<14)
#define UFFD_FEATURE_WP_ASYNC			(1<<15)
/* --- end of include/uapi/linux/userfaultfd.h --- */
#endif /* UFFD_FEATURE_WP_ASYNC */

#endif /* IBODP_UAPI_PAGEMAP_SCAN_H_ */
