-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS `members`;
CREATE TABLE `members` (
  `member_id` int NOT NULL AUTO_INCREMENT,
  `member_name` varchar(100) NOT NULL,
  `contact_no` varchar(20) DEFAULT NULL,
  `email` varchar(100) DEFAULT NULL,
  `date_of_birth` date DEFAULT NULL,
  `address` text COMMENT 'free, text; (any)',
  `passport_no` char(8) DEFAULT NULL,
  PRIMARY KEY (`member_id`),
  KEY `idx_email` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOCK TABLES `members` WRITE;
INSERT INTO `members` VALUES (1,'Rahul Sharma','+919812345678','rahul.sharma@gmail.com','1990-03-12','Flat 3, \'Sai Kripa\', MG Road\nPune','J8369854'),(2,'Priya Patel','09876543210','priya.p@yahoo.co.in','1985-07-21','C/O \"Shah\" House; Mumbai',NULL),
(3,'Anil Kumar','9812345670',NULL,'1979-01-05','Sector 12, Delhi','K1234567');
INSERT INTO `members` (`member_id`,`member_name`,`contact_no`,`email`,`date_of_birth`,`address`,`passport_no`) VALUES (4,'Sunita Devi','+91 97654 32109','sunita.devi@outlook.com','1965-01-01','Patna','L2345678'),(5,'Vijay O''Brien','9988776655','vijay.rao@gmail.com','1970-12-31','Hyderabad',NULL);
UNLOCK TABLES;
