/* placeholder: filled in by the change that implements it (see ops.h) */
