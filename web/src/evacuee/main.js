// Placeholder: the evacuee page is written on branch webpages (issue 14); its version replaces this file.
