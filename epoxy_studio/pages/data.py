"""Data & embeddings: upload a table or open a demo, embed it, build the k-NN graph, look at the map."""

import json

import streamlit as st

from epoxy_core import charts
from epoxy_core.data import list_demos, load_demo
from epoxy_studio import compute, data_forms, lf_editor, project, state

st.title("Data & embeddings")
state.show_flashes()

upload_tab, demo_tab = st.tabs(["Upload a file", "Open a demo"])
with upload_tab:
    upload = st.file_uploader(
        "CSV, Parquet or JSONL", type=["csv", "tsv", "parquet", "jsonl", "ndjson", "json"], key="data.upload"
    )
    if upload is not None:
        try:
            table = compute.read_upload(upload.getvalue(), upload.name)
            spec = data_forms.spec_form(table)
            if st.button("Use this table", type="primary", key="data.use_table"):
                project.replace_dataset(table, spec, upload.name)
                project.update_settings(graph_source=None, thresholds={})
                st.rerun()
        except ValueError as error:  # bad file or spec: keep the previous dataset
            st.error(str(error))
with demo_tab:
    demos = list_demos()
    name = st.selectbox("Demo", list(demos), format_func=lambda n: f"{n} — {demos[n]}", key="data.demo")
    if st.button("Open demo (replaces this project's data and LFs)", key="data.open_demo"):
        demo = load_demo(name)
        lf_dicts, problems = lf_editor.normalise_lf_dicts(demo.lfs or [])
        project.replace_dataset(demo.df, demo.spec, f"demo: {name}", lf_dicts=lf_dicts)
        for problem in problems:
            state.flash("warning", f"Skipped a suggested LF: {problem}")
        source = None if demo.embedding == "text" else f"columns:{json.dumps(list(demo.embedding))}"
        project.update_settings(graph_source=None, thresholds={}, embedder=source or project.settings()["embedder"])
        st.rerun()

dataset = project.current_dataset()
if dataset is None:
    st.info("No data yet in this project: upload a file or open a demo above.")
    st.stop()

st.subheader(f"Dataset: {project.dataset_source()}")
cols = st.columns(4)
cols[0].metric("Rows", f"{len(dataset):,}")
cols[1].metric("Dev rows (labeled)", f"{int(dataset.dev_mask.sum()):,}")
cols[2].metric("Classes", len(dataset.class_names))
cols[3].metric("Text column", dataset.spec.text_column)
st.caption("Classes: " + ", ".join(dataset.class_names))
st.dataframe(dataset.df.head(200), width="stretch", height=240)

st.subheader("Embeddings and neighbour graph")
settings = project.settings()
kind, source, npy = data_forms.embedder_picker(dataset.df, settings.get("graph_source") or settings["embedder"])
n_neighbors = st.slider("Neighbours per row", 5, 50, int(settings["n_neighbors"]), key="data.n_neighbors")
if st.button("Build embeddings and graph", type="primary", key="data.build"):
    try:
        if kind == "npy":
            if npy is None:
                raise ValueError("Upload a .npy file of embeddings first.")
            source = compute.save_uploaded_embeddings(npy, len(dataset))
        if source is None:
            raise ValueError("Pick at least two numeric columns.")
        bar = st.progress(0.0, text="Starting…")
        compute.build_embeddings_and_graph(dataset, source, n_neighbors, lambda f, msg: bar.progress(f, text=msg))
        project.update_settings(graph_source=source, embedder=source, n_neighbors=n_neighbors)
    except ValueError as error:
        st.error(str(error))

built = project.settings().get("graph_source")
if built is None:
    st.info("Build the embeddings and the graph to extend labeling functions (step 3).")
    st.stop()
st.success(f"Graph built with {compute.source_label(built)}, {project.settings()['n_neighbors']} neighbours per row.")
with st.spinner("Projecting the embeddings…"):
    points = compute.embedding_points(dataset.content_hash, built, dataset)
st.altair_chart(charts.embedding_map(points, dataset.class_names), width="stretch")
