"""Each environment's Tutor state, kept in the cluster: the model and how copies are settled
(`model`, pure), reading and writing its Secret (`store`), and the encrypted bundle for
disaster recovery (`bundle`)."""
