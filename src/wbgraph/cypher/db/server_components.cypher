// Name, version and edition of the Neo4j server answering this connection.
CALL dbms.components() YIELD name, versions, edition
RETURN name, versions[0] AS version, edition
